// What an import verifies: the objects of a database and its exact row counts,
// read the same way from the source (inside the snapshot it was copied from)
// and from the copy, then compared. Reading needs a Session; comparing is pure.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "postgres/logical_copy.h"
#include "postgres/sql.h"

namespace pgd::pg {

// A table with rows of its own (not a partitioned parent).
struct TableInfo {
  std::string pattern;  // for pg_dump --table: "\"public\".\"t\"" (matches it only)
  int64_t bytes = 0;    // heap + TOAST
};

struct Catalog {
  // "tables", "indexes", "sequences", "views", "functions", "extensions",
  // "schemas" -> sorted qualified names. Objects of extensions are left out:
  // CREATE EXTENSION makes them, in whatever version this machine has.
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, std::string> sequence_values;  // name -> last_value ("-": never used)
  std::map<std::string, int64_t> row_counts;           // table -> rows (exact, count(*))
  int64_t large_objects = 0;
  std::map<std::string, TableInfo> data_tables;  // what the data phase moves
  int64_t table_bytes() const;
};

// Lists, sequence values and sizes; row counts only with Rows::Count (a scan
// of every table: the source's counts run inside the import's snapshot).
enum class CountRows { No, Yes };
Result<Catalog> read_catalog(Session& session, CountRows count);

// Each difference in words ("table public.t: 10 rows in the source, 9 in the
// copy"); empty when the copy matches. Lists and row counts come from
// `source` (read inside the snapshot the copy was made from). A sequence may
// have moved on in the source while the copy was made (sequences are not
// transactional): its copy must lie between `before` and `source`.
std::vector<std::string> compare_catalogs(const Catalog& before, const Catalog& source,
                                          const Catalog& copy);

// pg_dumpall --roles-only output without the CREATE ROLE of roles that
// `existing` (quote_ident'ed names) already has; their ALTER ROLE stays.
std::string drop_existing_roles(const std::string& roles_sql, const std::set<std::string>& existing);

// Splits the tables into at most `jobs` groups of about equal bytes, biggest
// first (one data stream each); no empty group.
std::vector<TableGroup> plan_streams(const std::map<std::string, TableInfo>& tables, int jobs);

// A SQL string literal: 'it''s'.
std::string quote_literal(const std::string& text);
// A SQL identifier, always quoted: "my ""odd"" name".
std::string quote_ident(const std::string& name);

// The extensions of a source that this machine lacks, each with the Debian
// package that provides it for `pg_version` (postgis -> postgresql-15-postgis-3).
std::string package_for_extension(const std::string& extension, int pg_version);

}  // namespace pgd::pg
