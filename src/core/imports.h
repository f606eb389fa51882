// Import use cases: a project whose main is a verified copy of a database
// elsewhere (`pgd project create NAME --from URL`), and its refresh.
//
// The copy is one snapshot of the source: pgd opens a REPEATABLE READ
// transaction there, exports its snapshot, and every tool (pg_dump of the
// schema, the parallel data streams) reads that snapshot; the row counts that
// verify the copy are read inside it too. The load runs with fsync off and no
// WAL archiving, then one syncfs and a clean stop make it durable before the
// branch's recoverable window starts (its base snapshot).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/branches.h"
#include "core/context.h"
#include "postgres/logical_copy.h"

namespace pgd {

struct ImportOptions {
  std::string source;  // --from: a libpq URI, key=value string or service=NAME
  int connect_timeout_s = 10;
  int jobs = 2;        // data streams and index builds at once
  std::optional<int> pg_version;
  // Asked once when the source wants a password that libpq found nowhere
  // (PGPASSWORD, ~/.pgpass, a service): a prompt on a terminal. May be empty.
  std::function<std::optional<std::string>()> ask_password;
};

struct ImportStats {
  std::string database;  // its name, in the source and in the project
  std::string source;    // as given (it never holds a password)
  int64_t bytes = 0;     // table bytes in the source
  int64_t rows = 0;
  size_t tables = 0;
  Timings phases;        // connect, roles, schema, data, indexes, verify, analyze, flush
};

struct Imported {
  BranchCreated created;
  ImportStats stats;
  std::optional<SnapshotRecord> before_refresh;  // a refresh's copy of the old main
};

// A libpq connection string for pgd's own TCP sessions with a local
// instance (no password in it: a tool gets that in its environment).
std::string local_conninfo(const Instance& in, const std::string& dbname);

// Usage error when `source` is not a connection string libpq parses, or
// carries a password (which would show in `ps` and shell history).
// `option` names it in messages ("--from", "--follow").
Status check_source(const std::string& source, const std::string& option = "--from");

// Copies the source into a new project. Before anything is made it refuses a
// source newer than every installed PostgreSQL and one using an extension
// this machine lacks (naming the Debian package). Any failure leaves nothing.
Result<Imported> import_project(Context& ctx, LogicalCopier& copier, const std::string& name,
                                const ImportOptions& options);

// A fresh copy of the project's source becomes its main: built beside the old
// one, verified, then swapped in under the same port. The old main stays as
// the snapshot `before-refresh-<time>`; branches made from it keep working.
// A failure before the swap leaves the old main serving, untouched.
Result<Imported> refresh_project(Context& ctx, LogicalCopier& copier, const std::string& name,
                                 const ImportOptions& options);

// After the swap: the rest of a refresh (old bases gone, a fresh WAL archive,
// main's settings, a new base, started unless main was recorded stopped);
// also doctor --fix's for a refresh interrupted past it. `step` is the last
// one reached.
Status finish_refresh(Context& ctx, const BranchRecord& main, const std::string& step);

}  // namespace pgd
