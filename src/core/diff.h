// `pgd diff A B`: what is different between two branches, object by object
// in the schema (pg_dump's own definitions, postgres/schema_dump.h) and table
// by table in the data (counted inside each server: only row hashes, never
// rows, come to pgd).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/names.h"
#include "core/context.h"
#include "postgres/logical_copy.h"
#include "postgres/schema_dump.h"

namespace pgd {

struct DiffOptions {
  bool schema = true;
  bool data = true;
  uint64_t data_limit = 1ULL << 30;  // larger tables get row counts only
};

struct ObjectChange {
  std::string kind, schema, name;
  std::string status;  // "added", "removed", "changed"
  std::string before, after;  // definitions; empty on the side without it
  std::vector<std::string> diff;  // unified diff of a changed one
};

struct TableDelta {
  std::string schema, name;
  int64_t rows_a = 0, rows_b = 0;
  // "primary key", "whole row" (no primary key the same on both sides) or
  // "counts only" (over the data limit; inserted/deleted/changed unknown).
  std::string method;
  int64_t inserted = 0, deleted = 0, changed = 0;
  bool differs() const { return rows_a != rows_b || inserted || deleted || changed; }
};

struct DiffReport {
  std::string a, b;  // "shop/main"
  std::string database;
  std::vector<ObjectChange> objects;  // sorted by kind, schema, name
  std::vector<TableDelta> tables;     // tables on both sides, sorted by schema, name
  bool schema_compared = false, data_compared = false;
};

// Objects added in `b`, removed from `a` and changed between them, sorted.
std::vector<ObjectChange> compare_objects(const std::vector<pg::SchemaObject>& a,
                                          const std::vector<pg::SchemaObject>& b);

// Rows from a server in batches, sorted by their first column (a key's
// hash, in byte order): {key, row hash, count}. An empty batch ends it.
using RowBatches = std::function<Result<pg::Rows>()>;
struct RowCounts {
  int64_t inserted = 0, deleted = 0, changed = 0;
};
// One key that differs, as merge_row_streams meets it: its rows from each
// side (nullptr where it has none); extra columns past the third come along.
struct RowDifference {
  const char* status;  // "inserted", "deleted", "changed"
  const pg::Row* a;
  const pg::Row* b;
};
using OnDifference = std::function<void(const RowDifference&)>;
// Merges two sorted streams: a key only in `b` is inserted, only in `a`
// deleted, in both with different row hashes changed. A key's count (rows
// without a primary key, grouped by their whole-row hash) adds or removes
// that many rows. `on_difference`, if given, sees each differing key.
Result<RowCounts> merge_row_streams(const RowBatches& a, const RowBatches& b,
                                    const OnDifference& on_difference = {});

// `pgd diff A B --rows TABLE`: the rows of one table that differ.
struct RowChange {
  std::string status;  // "inserted", "deleted", "changed"
  std::string key;     // the primary key as a row ("(42)"); the whole row without one
  std::string a, b;    // the row on each side ("" where it has none)
};
struct RowListing {
  std::string a, b, schema, table, method;  // method: "primary key" or "whole row"
  RowCounts counts;
  std::vector<RowChange> rows;  // the first `max_rows` (by key hash: a stable, arbitrary order)
  int64_t more = 0;             // differing keys past those
};

// One side of a diff: a branch, or one of its snapshots (by id or label).
struct DiffSide {
  BranchRef branch;
  std::string snapshot;  // empty: the branch as it is now
  std::string full() const { return branch.full() + (snapshot.empty() ? "" : "@" + snapshot); }
};
// "shop/dev" or "shop/main@before-migration"; a usage error otherwise.
Result<DiffSide> parse_diff_side(const std::string& text);

// A running branch is read as it is. A stopped branch or a snapshot is read
// from a throwaway clone of it, started on a private socket (no TCP port,
// no WAL archiving) for the diff's length and destroyed after it; a killed
// diff leaves it to `pgd doctor --fix` (an unrecorded volume, whose server it
// stops). Each side is read in one REPEATABLE READ transaction.
Result<DiffReport> diff(Context& ctx, LogicalCopier& copier, const DiffSide& a, const DiffSide& b,
                        const DiffOptions& options);
// `table`: "schema.name", or a name that only one schema has on side a.
// Only hashes and keys cross until the listed rows are read, one query a side.
Result<RowListing> diff_rows(Context& ctx, const DiffSide& a, const DiffSide& b, const std::string& table,
                             int max_rows);

}  // namespace pgd
