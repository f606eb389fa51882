#include "postgres/catalog.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "base/parse.h"
#include "base/strings.h"

namespace pgd::pg {
namespace {

// System schemas and objects that belong to extensions are not the user's.
constexpr const char* k_user_schema = "n.nspname !~ '^pg_' and n.nspname <> 'information_schema'";

std::string not_extension_member(const char* catalog, const char* oid) {
  return fmt::format("not exists (select 1 from pg_depend d where d.classid = '{}'::regclass "
                     "and d.objid = {} and d.deptype = 'e')", catalog, oid);
}

const std::map<std::string, std::string>& kind_lists() {
  static const std::map<std::string, std::string> kinds{
      {"r", "tables"}, {"p", "tables"},   {"i", "indexes"}, {"I", "indexes"},
      {"S", "sequences"}, {"v", "views"}, {"m", "views"}};
  return kinds;
}

Status read_relations(Session& s, Catalog& out) {
  TRY_ASSIGN(Rows rows, s.query(fmt::format(
      "select c.relkind, format('%I.%I', n.nspname, c.relname), "
      "'\"' || replace(n.nspname, '\"', '\"\"') || '\".\"' || replace(c.relname, '\"', '\"\"') || '\"', "
      "case when c.relkind = 'r' then pg_table_size(c.oid) else 0 end "
      "from pg_class c join pg_namespace n on n.oid = c.relnamespace where {} and c.relkind in "
      "('r','p','i','I','S','v','m') and {} order by 2", k_user_schema,
      not_extension_member("pg_class", "c.oid"))));
  for (const auto& r : rows) {
    if (r.size() < 4) continue;
    auto kind = kind_lists().find(r[0]);
    if (kind != kind_lists().end()) out.lists[kind->second].push_back(r[1]);
    if (r[0] == "r") out.data_tables[r[1]] = TableInfo{r[2], parse_number<int64_t>(r[3]).value_or(0)};
  }
  return {};
}

Result<std::vector<std::string>> column(Session& s, const std::string& sql) {
  TRY_ASSIGN(Rows rows, s.query(sql));
  std::vector<std::string> out;
  for (const auto& r : rows)
    if (!r.empty()) out.push_back(r[0]);
  return out;
}

Result<int64_t> number(Session& s, const std::string& sql) {
  TRY_ASSIGN(Row row, s.query_row(sql, 1));
  auto n = parse_number<int64_t>(row[0]);
  if (!n) return fail(fmt::format("{}: not a number: '{}'", sql, row[0]));
  return *n;
}

Status count_rows(Session& s, Catalog& out) {
  const auto& tables = out.lists["tables"];
  if (tables.empty()) return {};
  // One statement: one scan after another inside the same snapshot.
  std::vector<std::string> parts;
  for (const auto& t : tables)
    parts.push_back(fmt::format("select {}, count(*) from only {}", quote_literal(t), t));
  TRY_ASSIGN(Rows rows, s.query(join(parts, " union all ")));
  for (const auto& r : rows) {
    if (r.size() < 2) continue;
    auto n = parse_number<int64_t>(r[1]);
    if (!n) return fail(fmt::format("row count of {}: not a number: '{}'", r[0], r[1]));
    out.row_counts[r[0]] = *n;
  }
  return {};
}

std::string names(const std::vector<std::string>& v) {
  constexpr size_t k_shown = 5;
  std::vector<std::string> shown(v.begin(), v.begin() + std::min(v.size(), k_shown));
  std::string out = join(shown, ", ");
  if (v.size() > k_shown) out += fmt::format(" and {} more", v.size() - k_shown);
  return out;
}

void compare_lists(const Catalog& source, const Catalog& copy, std::vector<std::string>& out) {
  for (const auto& [kind, list] : source.lists) {
    std::set<std::string> a(list.begin(), list.end());
    auto found = copy.lists.find(kind);
    std::set<std::string> b;
    if (found != copy.lists.end()) b.insert(found->second.begin(), found->second.end());
    std::vector<std::string> missing, extra;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(missing));
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(extra));
    if (!missing.empty()) out.push_back(fmt::format("{} missing from the copy: {}", kind, names(missing)));
    if (!extra.empty()) out.push_back(fmt::format("{} in the copy but not in the source: {}", kind, names(extra)));
  }
}

// "-" (never used) sorts before every number.
std::optional<int64_t> sequence_value(const std::string& v) {
  if (v == "-") return INT64_MIN;
  return parse_number<int64_t>(v);
}

void compare_sequences(const Catalog& before, const Catalog& after, const Catalog& copy,
                       std::vector<std::string>& out) {
  for (const auto& [name, first] : before.sequence_values) {
    auto last = after.sequence_values.count(name) ? after.sequence_values.at(name) : first;
    auto copied = copy.sequence_values.find(name);
    if (copied == copy.sequence_values.end()) continue;  // reported as missing
    auto lo = sequence_value(first), hi = sequence_value(last), got = sequence_value(copied->second);
    bool ok = lo && hi && got && *got >= std::min(*lo, *hi) && *got <= std::max(*lo, *hi);
    if (!ok)
      out.push_back(fmt::format("sequence {}: {} in the copy, {} in the source", name,
                                copied->second, first == last ? first : first + " to " + last));
  }
}

}  // namespace

std::string quote_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

Result<Catalog> read_catalog(Session& s, CountRows count) {
  Catalog out;
  // Names come back schema-qualified whatever the session's search_path was.
  TRY(s.exec("set search_path = pg_catalog"));
  TRY(read_relations(s, out));
  TRY_ASSIGN(out.lists["schemas"],
             column(s, fmt::format("select quote_ident(n.nspname) from pg_namespace n where {} and {} "
                                   "order by 1", k_user_schema,
                                   not_extension_member("pg_namespace", "n.oid"))));
  TRY_ASSIGN(out.lists["functions"],
             column(s, fmt::format("select p.oid::regprocedure::text from pg_proc p join pg_namespace n "
                                   "on n.oid = p.pronamespace where {} and {} order by 1",
                                   k_user_schema, not_extension_member("pg_proc", "p.oid"))));
  TRY_ASSIGN(out.lists["extensions"], column(s, "select extname from pg_extension order by 1"));
  TRY_ASSIGN(Rows seqs, s.query("select format('%I.%I', schemaname, sequencename), "
                                "coalesce(last_value::text, '-') from pg_sequences "
                                "where schemaname !~ '^pg_' order by 1"));
  for (const auto& r : seqs)
    if (r.size() >= 2) out.sequence_values[r[0]] = r[1];
  TRY_ASSIGN(out.large_objects, number(s, "select count(*) from pg_largeobject_metadata"));
  if (count == CountRows::Yes) TRY(count_rows(s, out));
  return out;
}

int64_t Catalog::table_bytes() const {
  int64_t sum = 0;
  for (const auto& [name, t] : data_tables) sum += t.bytes;
  return sum;
}

std::vector<std::string> compare_catalogs(const Catalog& before, const Catalog& source,
                                          const Catalog& copy) {
  std::vector<std::string> out;
  compare_lists(source, copy, out);
  for (const auto& [table, rows] : source.row_counts) {
    auto got = copy.row_counts.find(table);
    if (got != copy.row_counts.end() && got->second != rows)
      out.push_back(fmt::format("table {}: {} rows in the source, {} in the copy", table, rows, got->second));
  }
  compare_sequences(before, source, copy, out);
  if (source.large_objects != copy.large_objects)
    out.push_back(fmt::format("large objects: {} in the source, {} in the copy", source.large_objects,
                              copy.large_objects));
  return out;
}

std::string drop_existing_roles(const std::string& roles_sql, const std::set<std::string>& existing) {
  std::string out;
  size_t start = 0;
  while (start < roles_sql.size()) {
    size_t end = roles_sql.find('\n', start);
    if (end == std::string::npos) end = roles_sql.size();
    std::string line = roles_sql.substr(start, end - start);
    start = end + 1;
    const std::string create = "CREATE ROLE ";
    if (line.rfind(create, 0) == 0 && line.size() > create.size() + 1 && line.back() == ';' &&
        existing.count(line.substr(create.size(), line.size() - create.size() - 1)))
      continue;
    out += line + "\n";
  }
  return out;
}

std::vector<TableGroup> plan_streams(const std::map<std::string, TableInfo>& tables, int jobs) {
  std::vector<std::pair<int64_t, std::string>> by_size;
  for (const auto& [name, t] : tables) by_size.emplace_back(t.bytes, t.pattern);
  std::sort(by_size.begin(), by_size.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  size_t n = static_cast<size_t>(std::max(1, jobs));
  std::vector<std::vector<std::string>> bins(n);
  std::vector<int64_t> load(n, 0);
  for (const auto& [bytes, pattern] : by_size) {
    size_t lightest = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    bins[lightest].push_back(pattern);
    load[lightest] += bytes;
  }
  std::vector<TableGroup> out;
  for (auto& bin : bins)
    if (!bin.empty()) out.push_back(std::move(bin));
  return out;
}

std::string package_for_extension(const std::string& extension, int pg_version) {
  // Debian names most extension packages postgresql-<major>-<name>; these differ.
  static const std::map<std::string, std::string> named{
      {"postgis", "postgis-3"},          {"postgis_raster", "postgis-3"},
      {"postgis_topology", "postgis-3"}, {"postgis_tiger_geocoder", "postgis-3"},
      {"address_standardizer", "postgis-3"}, {"vector", "pgvector"},
      {"pg_partman", "partman"}};
  // Procedural languages put the version last: postgresql-plperl-15.
  static const std::map<std::string, std::string> languages{
      {"plperl", "plperl"}, {"plperlu", "plperl"}, {"plpython3u", "plpython3"},
      {"pltcl", "pltcl"},   {"pltclu", "pltcl"}};
  if (auto pl = languages.find(extension); pl != languages.end())
    return fmt::format("postgresql-{}-{}", pl->second, pg_version);
  auto found = named.find(extension);
  std::string suffix = found != named.end() ? found->second : extension;
  std::replace(suffix.begin(), suffix.end(), '_', '-');
  return fmt::format("postgresql-{}-{}", pg_version, suffix);
}

}  // namespace pgd::pg
