// LogicalCopier: a database copied with PostgreSQL's own client tools —
// pg_dumpall for roles, pg_dump/pg_restore for the schema, and for the data
// streams of `pg_dump --data-only | psql --single-transaction`, several at
// once, all reading one exported snapshot of the source (docs/design.md: why
// not pg_dump -Fd -j or pgcopydb).
//
// Contract: a password never reaches a command line: a tool gets it in its
// environment (PGPASSWORD, private to the user) or finds it itself (the
// caller's PGPASSWORD, ~/.pgpass, a libpq service). A failed tool's error
// ends with the tail of its output. Tools run as the calling user.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "postgres/sql.h"

namespace pgd {

// A database a tool connects to.
struct Endpoint {
  std::string conninfo;  // libpq URI or key=value; never holds a password
  std::string password;  // empty: libpq finds it
  std::string label;     // names it in errors: "source postgresql://app@db/shop"
};

// A long tool run, watched: each line it prints, and whether to go on
// (asked about 4 times a second; false ends the tools and the call fails as
// ErrorKind::Interrupted).
struct Watch {
  std::function<void(const std::string& line)> on_line;
  std::function<bool()> keep_going;
};

// pg_restore's sections: the schema before the data, then indexes,
// constraints and triggers.
enum class Section { PreData, PostData };

// The tables one data stream carries, as exact pg_dump patterns that are
// also SQL names: "\"public\".\"t\"".
using TableGroup = std::vector<std::string>;

class LogicalCopier {
 public:
  virtual ~LogicalCopier() = default;
  // A session with the source, giving up after `timeout_s` (also when the
  // network goes away later: TCP keepalives and a user timeout).
  virtual Result<std::unique_ptr<pg::Session>> connect(const Endpoint& source, int timeout_s) = 0;
  // The source's roles as SQL (CREATE ROLE, ALTER ROLE, GRANT), without passwords.
  virtual Result<std::string> dump_roles(int pg_version, const Endpoint& source) = 0;
  // Runs the SQL file at `path` in one session; stops at the first error.
  virtual Status run_sql_file(int pg_version, const Endpoint& target, const std::string& path) = 0;
  // The schema as plain SQL (pg_dump --schema-only) into `file`: one entry
  // per object under its "-- Name: ...; Type: ..." header (pgd diff).
  virtual Status dump_schema_plain(int pg_version, const Endpoint& source, const std::string& file) = 0;
  // The schema as of `snapshot` (an exported snapshot id) into `file`.
  virtual Status dump_schema(int pg_version, const Endpoint& source, const std::string& snapshot,
                             const std::string& file) = 0;
  // One section of that schema into `target`, `jobs` items at a time; with
  // `create`, the database itself first (target then names one to connect to).
  virtual Status restore_schema(int pg_version, const Endpoint& target, const std::string& file,
                                Section section, int jobs, bool create, const Watch& watch) = 0;
  // The data as of `snapshot`, all at once: one stream per group of tables,
  // each loaded in one transaction that first truncates its (empty) tables,
  // so that a server with wal_level = minimal writes no WAL for the rows; and
  // one stream of the rest: sequence values, large objects, and the rows of
  // extensions' configuration tables.
  virtual Status copy_data(int pg_version, const Endpoint& source, const std::string& snapshot,
                           const Endpoint& target, const std::vector<TableGroup>& groups,
                           const Watch& watch) = 0;
};

}  // namespace pgd
