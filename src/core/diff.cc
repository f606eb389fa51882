#include "core/diff.h"

#include <unistd.h>

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "base/line_diff.h"
#include "base/parse.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "core/branches.h"
#include "core/follow.h"
#include "core/imports.h"
#include "core/operation.h"
#include "core/projects.h"
#include "core/snapshots.h"
#include "os/interrupts.h"
#include "postgres/catalog.h"

namespace pgd {

std::vector<ObjectChange> compare_objects(const std::vector<pg::SchemaObject>& a,
                                          const std::vector<pg::SchemaObject>& b) {
  std::map<std::string, const pg::SchemaObject*> in_a, in_b;
  for (const auto& o : a) in_a[o.key()] = &o;
  for (const auto& o : b) in_b[o.key()] = &o;
  std::vector<ObjectChange> out;
  auto change = [](const pg::SchemaObject& o, const char* status) {
    return ObjectChange{o.kind, o.schema, o.name, status, "", "", {}};
  };
  for (const auto& [key, o] : in_a) {
    auto other = in_b.find(key);
    if (other == in_b.end()) {
      out.push_back(change(*o, "removed"));
      out.back().before = o->definition;
    } else if (other->second->definition != o->definition || other->second->owner != o->owner) {
      out.push_back(change(*o, "changed"));
      out.back().before = o->definition;
      out.back().after = other->second->definition;
      out.back().diff = unified_diff(o->definition, other->second->definition);
    }
  }
  for (const auto& [key, o] : in_b) {
    if (in_a.count(key)) continue;
    out.push_back(change(*o, "added"));
    out.back().after = o->definition;
  }
  std::sort(out.begin(), out.end(), [](const ObjectChange& x, const ObjectChange& y) {
    return std::tie(x.kind, x.schema, x.name) < std::tie(y.kind, y.schema, y.name);
  });
  return out;
}

namespace {

// One sorted stream, read a batch at a time.
class Cursor {
 public:
  explicit Cursor(const RowBatches& next) : m_next(next) {}
  // The current row, or nullptr at the end.
  Result<const pg::Row*> current() {
    while (m_at >= m_batch.size()) {
      if (m_done) return static_cast<const pg::Row*>(nullptr);
      TRY_ASSIGN(m_batch, m_next());
      m_at = 0;
      if (m_batch.empty()) m_done = true;
    }
    const pg::Row& row = m_batch[m_at];
    if (row.size() < 3) return fail("a row hash stream returned a row of fewer than 3 columns");
    return &row;
  }
  void advance() { ++m_at; }

 private:
  const RowBatches& m_next;
  pg::Rows m_batch;
  size_t m_at = 0;
  bool m_done = false;
};

int64_t count_of(const pg::Row& row) { return parse_number<int64_t>(row[2]).value_or(0); }

}  // namespace

Result<RowCounts> merge_row_streams(const RowBatches& a, const RowBatches& b, const OnDifference& on_difference) {
  Cursor ca(a), cb(b);
  RowCounts counts;
  auto report = [&](const char* status, const pg::Row* ra, const pg::Row* rb) {
    if (on_difference) on_difference(RowDifference{status, ra, rb});
  };
  for (;;) {
    TRY_ASSIGN(const pg::Row* ra, ca.current());
    TRY_ASSIGN(const pg::Row* rb, cb.current());
    if (!ra && !rb) return counts;
    int order = !ra ? 1 : !rb ? -1 : (*ra)[0].compare((*rb)[0]);
    if (order < 0) {
      counts.deleted += count_of(*ra);
      report("deleted", ra, nullptr);
      ca.advance();
    } else if (order > 0) {
      counts.inserted += count_of(*rb);
      report("inserted", nullptr, rb);
      cb.advance();
    } else {
      int64_t na = count_of(*ra), nb = count_of(*rb);
      if (nb > na) counts.inserted += nb - na;
      if (na > nb) counts.deleted += na - nb;
      if ((*ra)[1] != (*rb)[1]) counts.changed += std::min(na, nb);
      if ((*ra)[1] != (*rb)[1]) report("changed", ra, rb);
      else if (na != nb) report(nb > na ? "inserted" : "deleted", ra, rb);
      ca.advance();
      cb.advance();
    }
  }
}

namespace {

// A throwaway clone of a snapshot or a stopped branch, running on a private
// socket for as long as it lives. Its intent (op) names its volume, so
// doctor leaves it alone while this pgd runs and removes it after a kill.
class PrivateCopy {
 public:
  PrivateCopy(Context& ctx, Operation op, std::string volume, Instance in)
      : m_ctx(ctx), m_op(std::move(op)), m_volume(std::move(volume)), m_in(std::move(in)) {}
  PrivateCopy(const PrivateCopy&) = delete;
  ~PrivateCopy() {
    os::DeferInterrupts finish_the_cleanup;
    warn_if_failed(m_ctx, m_ctx.postgres.stop(m_in, StopMode::Immediate), "stopping the diff's copy " + m_in.name);
    warn_if_failed(m_ctx, m_ctx.storage.destroy(m_volume), "removing the diff's copy " + m_ctx.storage.path(m_volume));
    warn_if_failed(m_ctx, m_ctx.files.remove_tree(m_in.socket_dir), "removing " + m_in.socket_dir);
    warn_if_failed(m_ctx, m_ctx.files.remove_file(m_in.log_path), "removing " + m_in.log_path);
  }
  const Instance& instance() const { return m_in; }
  // Records that the copy runs (a test may kill pgd here: PGD_FAULT=diff.copy:started).
  Status started() { return m_op.step("started"); }

 private:
  Context& m_ctx;
  Operation m_op;
  std::string m_volume;
  Instance m_in;
};

// A side to compare, with what pgd needs to talk to it.
struct Side {
  std::string label;  // "shop/main@before"
  BranchRecord branch;
  Instance instance;
  std::string password;  // empty: peer, over the private socket
  std::string database;
  std::unique_ptr<PrivateCopy> copy;
  std::unique_ptr<pg::Session> session;
};

Result<SnapshotRecord> snapshot_of(Context& ctx, const BranchRef& ref, const std::string& id_or_label) {
  TRY_ASSIGN(auto all, ctx.store.snapshots(ref.project, ref.branch));
  for (const auto& s : all)
    if (s.id == id_or_label || s.label == id_or_label) return s;
  return fail(ErrorKind::NotFound, fmt::format("branch '{}' has no snapshot with id or label '{}' (see 'pgd "
                                               "snapshot list {}')", ref.full(), id_or_label, ref.full()));
}

// Clones `volume` (a snapshot's or a stopped branch's) and starts the clone
// where only pgd reaches it.
Result<std::unique_ptr<PrivateCopy>> start_private_copy(Context& ctx, const Side& side,
                                                        const std::string& volume, int serial) {
  const std::string& project = side.branch.project;
  std::string name = fmt::format(".diff-{}-{}", ::getpid(), serial);
  std::string copy_volume = project + "/" + name;
  TRY(require_memory(ctx, "diff of " + side.label));
  TRY_ASSIGN(Operation op, Operation::begin_create(ctx, "diff.copy", project, copy_volume));
  TRY(ctx.storage.clone(volume, copy_volume, Access::ReadWrite));
  op.release_project_lock();  // the copy is ours alone: other commands may go on
  Instance in = side.instance;
  in.name = side.label + " (diff copy)";
  in.data_dir = ctx.storage.path(copy_volume);
  in.listen_port = 0;
  in.socket_dir = ctx.paths.home + "/run/" + name;
  in.log_path = ctx.paths.log_file(project, name);
  in.settings = {{"listen_addresses", ""}, {"archive_mode", "off"}, {"default_transaction_read_only", "on"}};
  auto copy = std::make_unique<PrivateCopy>(ctx, std::move(op), copy_volume, in);
  TRY(ctx.postgres.make_server_dir(in.socket_dir));
  TRY(ctx.postgres.prepare_private(in));
  TRY(ctx.postgres.start(in));
  TRY(copy->started());
  return copy;
}

Result<Side> open_side(Context& ctx, const DiffSide& which, int serial) {
  Side side;
  side.label = which.full();
  TRY_ASSIGN(side.branch, require_branch(ctx, which.branch));
  if (side.branch.state == BranchState::Creating)
    return fail(ErrorKind::Conflict, fmt::format("branch '{}' is still being created; try again", which.branch.full()));
  side.instance = instance_for(ctx, side.branch);
  TRY_ASSIGN(ProjectRecord project, require_project(ctx, which.branch.project));
  side.database = project.database;
  std::optional<std::string> volume;
  if (!which.snapshot.empty()) {
    TRY_ASSIGN(SnapshotRecord snap, snapshot_of(ctx, which.branch, which.snapshot));
    volume = snap.volume;
  } else if (!ctx.postgres.running_pid(side.instance)) {
    volume = side.branch.volume;
  }
  if (volume) {
    TRY_ASSIGN(side.copy, start_private_copy(ctx, side, *volume, serial));
    side.instance = side.copy->instance();
    side.password.clear();
  } else {
    TRY_ASSIGN(side.password, session_password(ctx, side.branch));
  }
  TRY_ASSIGN(side.session, ctx.postgres.connect(side.instance, side.password, side.database));
  return side;
}

// pg_dump names an extension but not its version: added to its definition.
Status add_extension_versions(Side& side, std::vector<pg::SchemaObject>& objects) {
  TRY_ASSIGN(pg::Rows rows, side.session->query("SELECT extname, extversion FROM pg_extension"));
  std::map<std::string, std::string> version;
  for (const auto& r : rows)
    if (r.size() >= 2) version[r[0]] = r[1];
  for (auto& o : objects)
    if (o.kind == "EXTENSION" && version.count(o.name))
      o.definition += "-- version " + version[o.name] + "\n";
  return {};
}

Result<std::vector<pg::SchemaObject>> schema_of(Context& ctx, LogicalCopier& copier, Side& side) {
  TRY(ctx.files.make_dirs(ctx.paths.tmp_dir(), 0700));
  std::string file = fmt::format("{}/diff-{}-{}.sql", ctx.paths.tmp_dir(), ::getpid(), side.branch.port);
  if (os::interrupt_signal()) return fail(ErrorKind::Interrupted, "diff interrupted");
  ScopeGuard remove([&] { ignore_error(ctx.files.remove_file(file), "a leftover in pgd's tmp/ harms nothing"); });
  // Peer authentication over the private socket where there is no password
  // (a following main, a private copy).
  std::string conninfo = side.password.empty()
                             ? fmt::format("host={} port={} user=postgres dbname={}", pg::conninfo_quote(side.instance.socket_dir),
                                           side.instance.start_port(), pg::conninfo_quote(side.database))
                             : local_conninfo(side.instance, side.database);
  Endpoint endpoint{conninfo, side.password, side.label};
  TRY(copier.dump_schema_plain(side.branch.pg_version, endpoint, file));
  TRY_ASSIGN(std::string text, ctx.files.read(file));
  auto objects = pg::parse_schema_dump(text);
  TRY(add_extension_versions(side, objects));
  return objects;
}

// The settings that make a row's text the same on both servers.
constexpr char k_snapshot_sql[] =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL TimeZone = 'UTC'; "
    "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; "
    "SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'";

// Ordinary tables and partitions, with their size, primary key and columns
// (quoted names separated by \x1f).
constexpr char k_tables_sql[] =
    "SELECT n.nspname, c.relname, pg_relation_size(c.oid), "
    "coalesce((SELECT string_agg(quote_ident(a.attname), chr(31) ORDER BY k.i) FROM pg_index x "
    "CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, i) "
    "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
    "WHERE x.indrelid = c.oid AND x.indisprimary), ''), "
    "coalesce((SELECT string_agg(quote_ident(a.attname), chr(31) ORDER BY a.attnum) FROM pg_attribute a "
    "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname !~ '^pg_(toast|temp)' ORDER BY 1, 2";

struct DiffTable {
  std::string schema, name;
  uint64_t bytes = 0;
  std::vector<std::string> key, columns;  // quoted names
};

std::vector<std::string> split_names(const std::string& joined) {
  std::vector<std::string> out;
  if (joined.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t end = joined.find('\x1f', start);
    out.push_back(joined.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

Result<std::map<std::string, DiffTable>> tables_of(pg::Session& session) {
  TRY_ASSIGN(pg::Rows rows, session.query(k_tables_sql));
  std::map<std::string, DiffTable> out;
  for (const auto& r : rows) {
    if (r.size() < 5) return fail("unexpected answer listing tables");
    DiffTable t{r[0], r[1], parse_number<uint64_t>(r[2]).value_or(0), split_names(r[3]), split_names(r[4])};
    out[r[0] + "\x1f" + r[1]] = t;
  }
  return out;
}

std::string quoted(const DiffTable& t) { return pg::quote_ident(t.schema) + "." + pg::quote_ident(t.name); }

// Columns of `a` that `b` has too, in a's order: a column added by a
// migration is a schema change, not a change of every row.
std::vector<std::string> common_columns(const DiffTable& a, const DiffTable& b) {
  std::vector<std::string> out;
  for (const auto& c : a.columns)
    if (std::find(b.columns.begin(), b.columns.end(), c) != b.columns.end()) out.push_back(c);
  return out;
}

std::string row_of(const std::vector<std::string>& columns) {
  return "ROW(" + join(columns, ", ") + ")::text";
}

// Count and an order-independent checksum of the rows: equal on both sides
// means no change, and saves the row-by-row pass. Just the count for a
// table over the data limit (`checksum` false).
Result<std::pair<int64_t, std::string>> summary(pg::Session& session, const std::string& table,
                                                 const std::vector<std::string>& columns, bool checksum) {
  std::string sum = checksum && !columns.empty()
                        ? fmt::format("coalesce(sum(hashtextextended({}, 0)::numeric), 0)", row_of(columns))
                        : std::string("''");
  std::string sql = fmt::format("SELECT count(*), {} FROM ONLY {} AS t", sum, table);
  TRY_ASSIGN(pg::Row row, session.query_row(sql, 2));
  return std::make_pair(parse_number<int64_t>(row[0]).value_or(-1), row[1]);
}

// The summary of both sides at once: each server scans its own table.
Result<std::pair<std::pair<int64_t, std::string>, std::pair<int64_t, std::string>>> summaries(
    Side& a, Side& b, const std::string& table, const std::vector<std::string>& columns, bool checksum) {
  auto of_b = std::async(std::launch::async, [&] { return summary(*b.session, table, columns, checksum); });
  auto sa = summary(*a.session, table, columns, checksum);
  auto sb = of_b.get();
  TRY(sa);
  TRY(sb);
  return std::make_pair(*sa, *sb);
}

// Opens a cursor over {key hash, row hash, count} sorted by key hash.
Status open_cursor(pg::Session& session, const std::string& name, const std::string& table,
                   const std::vector<std::string>& key, const std::vector<std::string>& columns) {
  std::string sql =
      key.empty()
          ? fmt::format("SELECT md5({}) COLLATE \"C\" AS k, '' AS h, count(*) FROM ONLY {} AS t GROUP BY 1 ORDER BY 1",
                        row_of(columns), table)
          : fmt::format("SELECT md5({}) COLLATE \"C\" AS k, md5({}) AS h, 1 FROM ONLY {} AS t ORDER BY 1",
                        row_of(key), row_of(columns), table);
  return session.exec(fmt::format("DECLARE {} NO SCROLL CURSOR FOR {}", name, sql));
}

Result<TableDelta> compare_table(Side& a, Side& b, const DiffTable& ta, const DiffTable& tb,
                                 const DiffOptions& options, int serial) {
  TableDelta d{ta.schema, ta.name};
  std::string table = quoted(ta);
  std::vector<std::string> columns = common_columns(ta, tb);
  bool within_limit = std::max(ta.bytes, tb.bytes) <= options.data_limit && !columns.empty();
  TRY_ASSIGN(auto both, summaries(a, b, table, columns, within_limit));
  d.rows_a = both.first.first;
  d.rows_b = both.second.first;
  bool same_key = !ta.key.empty() && ta.key == tb.key;
  d.method = !within_limit ? "counts only" : same_key ? "primary key" : "whole row";
  if (!within_limit || both.first == both.second) return d;
  std::string cursor = fmt::format("pgd_diff_{}", serial);
  std::vector<std::string> key = same_key ? ta.key : std::vector<std::string>{};
  TRY(open_cursor(*a.session, cursor, table, key, columns));
  TRY(open_cursor(*b.session, cursor, table, key, columns));
  std::string fetch = fmt::format("FETCH 10000 FROM {}", cursor);
  RowBatches from_a = [&] { return a.session->query(fetch); };
  RowBatches from_b = [&] { return b.session->query(fetch); };
  TRY_ASSIGN(RowCounts counts, merge_row_streams(from_a, from_b));
  TRY(a.session->exec("CLOSE " + cursor));
  TRY(b.session->exec("CLOSE " + cursor));
  d.inserted = counts.inserted;
  d.deleted = counts.deleted;
  d.changed = counts.changed;
  return d;
}

Result<std::vector<TableDelta>> compare_data(Side& a, Side& b, const DiffOptions& options) {
  TRY(a.session->exec(k_snapshot_sql));
  TRY(b.session->exec(k_snapshot_sql));
  TRY_ASSIGN(auto tables_a, tables_of(*a.session));
  TRY_ASSIGN(auto tables_b, tables_of(*b.session));
  std::vector<TableDelta> out;
  int serial = 0;
  for (const auto& [key, ta] : tables_a) {
    auto tb = tables_b.find(key);
    if (tb == tables_b.end()) continue;  // added or removed: the schema part says so
    if (os::interrupt_signal()) return fail(ErrorKind::Interrupted, "diff interrupted");
    TRY_ASSIGN(TableDelta d, compare_table(a, b, ta, tb->second, options, ++serial));
    out.push_back(d);
  }
  TRY(a.session->exec("COMMIT"));
  TRY(b.session->exec("COMMIT"));
  return out;
}

}  // namespace

Result<DiffSide> parse_diff_side(const std::string& text) {
  size_t at = text.find('@');
  DiffSide side;
  TRY_ASSIGN(side.branch, parse_branch_ref(text.substr(0, at)));
  if (at != std::string::npos) {
    side.snapshot = text.substr(at + 1);
    if (side.snapshot.empty())
      return fail(ErrorKind::Usage, fmt::format("'{}': a snapshot id or label must follow '@'", text));
  }
  return side;
}

namespace {

// The table `name` ("schema.table" or an unambiguous "table") among `tables`.
Result<DiffTable> find_table(const std::map<std::string, DiffTable>& tables, const std::string& name,
                             const std::string& side) {
  std::vector<const DiffTable*> found;
  for (const auto& [key, t] : tables)
    if (t.schema + "." + t.name == name || (name.find('.') == std::string::npos && t.name == name))
      found.push_back(&t);
  if (found.size() == 1) return *found.front();
  if (found.empty()) return fail(ErrorKind::NotFound, fmt::format("{} has no table '{}'", side, name));
  return fail(ErrorKind::Usage, fmt::format("'{}' names a table in several schemas of {}: give schema.table",
                                            name, side));
}

// The rows whose key hashes are `hashes`, read in one query: hash -> {key, row}.
Result<std::map<std::string, std::pair<std::string, std::string>>> rows_by_hash(
    pg::Session& session, const std::string& table, const std::string& key_expr,
    const std::vector<std::string>& columns, const std::vector<std::string>& hashes) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  if (hashes.empty()) return out;
  std::vector<std::string> literals;
  for (const auto& h : hashes) literals.push_back(pg::quote_literal(h));
  std::string sql = fmt::format("SELECT md5({0}), {0}, {1} FROM ONLY {2} AS t WHERE md5({0}) = ANY(ARRAY[{3}])",
                                key_expr, row_of(columns), table, join(literals, ", "));
  TRY_ASSIGN(pg::Rows rows, session.query(sql));
  for (const auto& r : rows)
    if (r.size() >= 3) out[r[0]] = {r[1], r[2]};
  return out;
}

}  // namespace

Result<RowListing> diff_rows(Context& ctx, const DiffSide& a, const DiffSide& b, const std::string& table,
                             int max_rows) {
  TRY_ASSIGN(Side side_a, open_side(ctx, a, 1));
  TRY_ASSIGN(Side side_b, open_side(ctx, b, 2));
  TRY(side_a.session->exec(k_snapshot_sql));
  TRY(side_b.session->exec(k_snapshot_sql));
  TRY_ASSIGN(auto tables_a, tables_of(*side_a.session));
  TRY_ASSIGN(auto tables_b, tables_of(*side_b.session));
  TRY_ASSIGN(DiffTable ta, find_table(tables_a, table, side_a.label));
  TRY_ASSIGN(DiffTable tb, find_table(tables_b, ta.schema + "." + ta.name, side_b.label));
  std::vector<std::string> columns = common_columns(ta, tb);
  if (columns.empty())
    return fail(ErrorKind::Conflict, fmt::format("{}.{} has no column of the same name on both sides", ta.schema, ta.name));
  bool same_key = !ta.key.empty() && ta.key == tb.key;
  std::vector<std::string> key = same_key ? ta.key : std::vector<std::string>{};
  RowListing out{side_a.label, side_b.label, ta.schema, ta.name, same_key ? "primary key" : "whole row"};
  std::string name = quoted(ta);
  TRY(open_cursor(*side_a.session, "pgd_rows", name, key, columns));
  TRY(open_cursor(*side_b.session, "pgd_rows", name, key, columns));
  RowBatches from_a = [&] { return side_a.session->query("FETCH 10000 FROM pgd_rows"); };
  RowBatches from_b = [&] { return side_b.session->query("FETCH 10000 FROM pgd_rows"); };
  std::vector<std::pair<std::string, std::string>> picked;  // status, key hash
  int64_t differing = 0;
  TRY_ASSIGN(out.counts, merge_row_streams(from_a, from_b, [&](const RowDifference& d) {
    ++differing;
    if (static_cast<int>(picked.size()) < max_rows) picked.emplace_back(d.status, (d.a ? *d.a : *d.b)[0]);
  }));
  out.more = differing - static_cast<int64_t>(picked.size());
  std::vector<std::string> hashes;
  for (const auto& p : picked) hashes.push_back(p.second);
  std::string key_expr = row_of(same_key ? key : columns);
  TRY_ASSIGN(auto rows_a, rows_by_hash(*side_a.session, name, key_expr, columns, hashes));
  TRY_ASSIGN(auto rows_b, rows_by_hash(*side_b.session, name, key_expr, columns, hashes));
  for (const auto& [status, hash] : picked) {
    RowChange c{status, "", "", ""};
    if (auto it = rows_a.find(hash); it != rows_a.end()) std::tie(c.key, c.a) = it->second;
    if (auto it = rows_b.find(hash); it != rows_b.end()) std::tie(c.key, c.b) = it->second;
    out.rows.push_back(c);
  }
  TRY(side_a.session->exec("COMMIT"));
  TRY(side_b.session->exec("COMMIT"));
  return out;
}

Result<DiffReport> diff(Context& ctx, LogicalCopier& copier, const DiffSide& a, const DiffSide& b,
                        const DiffOptions& options) {
  TRY_ASSIGN(Side side_a, open_side(ctx, a, 1));
  TRY_ASSIGN(Side side_b, open_side(ctx, b, 2));
  DiffReport report{side_a.label, side_b.label, side_a.database};
  if (options.schema) {
    TRY_ASSIGN(auto objects_a, schema_of(ctx, copier, side_a));
    TRY_ASSIGN(auto objects_b, schema_of(ctx, copier, side_b));
    report.objects = compare_objects(objects_a, objects_b);
    report.schema_compared = true;
  }
  if (options.data) {
    TRY_ASSIGN(report.tables, compare_data(side_a, side_b, options));
    report.data_compared = true;
  }
  return report;
}

}  // namespace pgd
