// A database's schema object by object, as pg_dump renders it: the plain
// output of `pg_dump --schema-only` is a sequence of TOC entries, each under a
// header "-- Name: N; Type: T; Schema: S; Owner: O". Parsing those headers
// keeps PostgreSQL's own renderer of every definition (tables with their
// columns in order, functions, views, grants as ACL entries, comments ...).
#pragma once

#include <string>
#include <vector>

namespace pgd::pg {

struct SchemaObject {
  std::string kind;        // pg_dump's type: "TABLE", "INDEX", "FK CONSTRAINT", "ACL" ...
  std::string schema;      // "-" for objects outside a schema (extensions, schemas)
  std::string name;        // as pg_dump names it: "accounts", "accounts accounts_pkey", "TABLE accounts"
  std::string owner;       // "-" where none
  std::string definition;  // the entry's SQL, blank lines at both ends trimmed
  // Identity across two dumps: kind, schema and name.
  std::string key() const { return kind + "\x1f" + schema + "\x1f" + name; }
};

// The entries of a plain schema-only dump, in the dump's order. The preamble
// (SET statements) and lines that differ between any two runs of pg_dump
// (\restrict keys) belong to no object and are dropped. A key that occurs
// twice gets " #2", " #3" appended to its name.
std::vector<SchemaObject> parse_schema_dump(const std::string& text);

}  // namespace pgd::pg
