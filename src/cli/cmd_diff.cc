// pgd diff A B: schema object by object, then a per-table data summary.
#include <fmt/format.h>

#include "base/names.h"
#include "cli/commands.h"
#include "core/diff.h"

namespace pgd::cli {
namespace {

struct DiffCommandOptions {
  std::string a, b;
  bool schema_only = false, data_only = false;
  std::string data_limit = "1G";
  std::string rows;  // --rows TABLE
  int max_rows = 20;
};

// "TABLE public.items"; pg_dump names a grant or comment after its object
// ("TABLE items"): "ACL on TABLE public.items".
std::string object_title(const ObjectChange& c) {
  auto qualified = [&](const std::string& name) { return c.schema == "-" ? name : c.schema + "." + name; };
  size_t space = c.name.find(' ');
  bool about = c.kind == "ACL" || c.kind == "COMMENT" || c.kind == "SECURITY LABEL";
  if (about && space != std::string::npos)
    return fmt::format("{} on {} {}", c.kind, c.name.substr(0, space), qualified(c.name.substr(space + 1)));
  return c.kind + " " + qualified(c.name);
}

nlohmann::json report_json(const DiffReport& r) {
  nlohmann::json objects = nlohmann::json::array(), tables = nlohmann::json::array();
  for (const auto& c : r.objects)
    objects.push_back({{"kind", c.kind}, {"schema", c.schema}, {"name", c.name}, {"status", c.status},
                       {"before", c.status == "added" ? nlohmann::json(nullptr) : nlohmann::json(c.before)},
                       {"after", c.status == "removed" ? nlohmann::json(nullptr) : nlohmann::json(c.after)}});
  for (const auto& t : r.tables)
    tables.push_back({{"schema", t.schema}, {"table", t.name}, {"rows_a", t.rows_a}, {"rows_b", t.rows_b},
                      {"method", t.method}, {"differs", t.differs()},
                      {"inserted", t.method == "counts only" ? nlohmann::json(nullptr) : nlohmann::json(t.inserted)},
                      {"deleted", t.method == "counts only" ? nlohmann::json(nullptr) : nlohmann::json(t.deleted)},
                      {"changed", t.method == "counts only" ? nlohmann::json(nullptr) : nlohmann::json(t.changed)}});
  nlohmann::json j{{"a", r.a}, {"b", r.b}, {"database", r.database}};
  j["objects"] = r.schema_compared ? objects : nlohmann::json(nullptr);
  j["tables"] = r.data_compared ? tables : nlohmann::json(nullptr);
  return j;
}

void print_schema(const DiffReport& r, const Output& out) {
  if (r.objects.empty()) {
    out.line("Schema: no differences");
    return;
  }
  int added = 0, removed = 0, changed = 0;
  out.line(fmt::format("Schema ({} -> {}):", r.a, r.b));
  for (const auto& c : r.objects) {
    std::string what = object_title(c);
    if (c.status == "added") {
      ++added;
      out.line(out.paint("  + " + what, "32"));
    } else if (c.status == "removed") {
      ++removed;
      out.line(out.paint("  - " + what, "31"));
    } else {
      ++changed;
      out.line(out.paint("  ~ " + what, "33"));
      for (const auto& l : c.diff) {
        const char* code = l.starts_with("@@") ? "36" : l.starts_with("+") ? "32" : l.starts_with("-") ? "31" : "0";
        out.line("      " + (l.starts_with(" ") ? l : out.paint(l, code)));
      }
    }
  }
  out.line(fmt::format("  {} objects differ: {} added, {} removed, {} changed", r.objects.size(), added,
                       removed, changed));
}

void print_data(const DiffReport& r, const Output& out) {
  std::vector<std::vector<std::string>> rows;
  auto known = [](const TableDelta& t, int64_t n) { return t.method == "counts only" ? std::string("?") : std::to_string(n); };
  for (const auto& t : r.tables) {
    if (!t.differs() && t.method != "counts only") continue;
    rows.push_back({t.schema + "." + t.name, std::to_string(t.rows_a), std::to_string(t.rows_b), known(t, t.inserted),
                    known(t, t.deleted), known(t, t.changed), t.method});
  }
  size_t same = r.tables.size() - rows.size();
  if (rows.empty()) {
    out.line(fmt::format("Data: no differences in the {} tables on both sides", r.tables.size()));
    return;
  }
  out.line(fmt::format("Data ({} -> {}, tables on both sides):", r.a, r.b));
  out.table({"TABLE", "ROWS A", "ROWS B", "INSERTED", "DELETED", "CHANGED", "COMPARED BY"}, rows);
  if (same) out.line(fmt::format("  {} other tables: no differences", same));
}

Status print_rows(const RowListing& l, const Output& out) {
  if (out.json()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : l.rows)
      rows.push_back({{"status", r.status}, {"key", r.key},
                      {"a", r.a.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.a)},
                      {"b", r.b.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.b)}});
    out.document({{"a", l.a}, {"b", l.b}, {"schema", l.schema}, {"table", l.table}, {"method", l.method},
                  {"inserted", l.counts.inserted}, {"deleted", l.counts.deleted}, {"changed", l.counts.changed},
                  {"rows", rows}, {"more", l.more}});
    return {};
  }
  out.line(fmt::format("Rows of {}.{} ({} -> {}, by {}): {} inserted, {} deleted, {} changed", l.schema, l.table,
                       l.a, l.b, l.method, l.counts.inserted, l.counts.deleted, l.counts.changed));
  for (const auto& r : l.rows) {
    if (r.status == "changed") {
      out.line(out.paint("  ~ " + r.key, "33"));
      out.line(out.paint("      - " + r.a, "31"));
      out.line(out.paint("      + " + r.b, "32"));
    } else if (r.status == "inserted") {
      out.line(out.paint("  + " + (r.b.empty() ? r.key : r.b), "32"));
    } else {
      out.line(out.paint("  - " + (r.a.empty() ? r.key : r.a), "31"));
    }
  }
  if (l.more > 0) out.line(fmt::format("  ... and {} more (--max-rows)", l.more));
  return {};
}

Status run_diff(const DiffCommandOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(DiffSide a, parse_diff_side(o.a));
  TRY_ASSIGN(DiffSide b, parse_diff_side(o.b));
  if (o.schema_only && o.data_only)
    return fail(ErrorKind::Usage, "--schema and --data exclude each other (give neither for both)");
  if (!o.rows.empty() && (o.schema_only || o.data_only))
    return fail(ErrorKind::Usage, "--rows lists one table's rows: it goes with neither --schema nor --data");
  if (o.max_rows < 1) return fail(ErrorKind::Usage, "--max-rows must be 1 or more");
  if (!o.rows.empty()) {
    TRY_ASSIGN(Context * ctx, env.context());
    TRY_ASSIGN(RowListing listing, diff_rows(*ctx, a, b, o.rows, o.max_rows));
    return print_rows(listing, out);
  }
  DiffOptions options;
  options.schema = !o.data_only;
  options.data = !o.schema_only;
  TRY_ASSIGN(options.data_limit, parse_size(o.data_limit));
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(DiffReport report, diff(*ctx, env.copier(), a, b, options));
  if (out.json()) {
    out.document(report_json(report));
    return {};
  }
  if (report.schema_compared) print_schema(report, out);
  if (report.schema_compared && report.data_compared) out.line("");
  if (report.data_compared) print_data(report, out);
  return {};
}

}  // namespace

void add_diff_command(CLI::App& app, Invocation& inv) {
  auto o = std::make_shared<DiffCommandOptions>();
  auto* cmd = app.add_subcommand("diff", "What differs between two branches or snapshots: schema object "
                                         "by object, then rows table by table");
  add_json_flag(cmd, inv);
  cmd->add_option("a", o->a, "compare from: <project>/<branch> or <project>/<branch>@<snapshot id or label>")->required();
  cmd->add_option("b", o->b, "compare with: <project>/<branch> or <project>/<branch>@<snapshot>")->required();
  cmd->add_flag("--schema", o->schema_only, "only the schema");
  cmd->add_flag("--data", o->data_only, "only the data summary");
  cmd->add_option("--data-limit", o->data_limit,
                  "tables larger than this (on either side) get row counts only (default 1G)");
  cmd->add_option("--rows", o->rows, "list the differing rows of this table (schema.table, or table)");
  cmd->add_option("--max-rows", o->max_rows, "with --rows: list at most this many (default 20); the rest are counted");
  cmd->callback([&inv, o] { inv.action = [o](Env& e, const Output& out) { return run_diff(*o, e, out); }; });
}

}  // namespace pgd::cli
