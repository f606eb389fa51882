#include "core/imports.h"

#include <fmt/format.h>

#include <algorithm>
#include <future>

#include "base/names.h"
#include "base/parse.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "base/time_format.h"
#include "core/operation.h"
#include "core/projects.h"
#include "core/secrets.h"
#include "core/snapshots.h"
#include "core/tls.h"
#include "core/wal_ops.h"
#include "postgres/catalog.h"

namespace pgd {
std::string local_conninfo(const Instance& in, const std::string& dbname) {
  return fmt::format("host=127.0.0.1 port={} user=postgres dbname={} sslmode=disable "
                     "gssencmode=disable", in.start_port(), pg::conninfo_quote(dbname));
}

namespace {

// The source, connected and inside the snapshot every tool reads.
struct OpenSource {
  Endpoint endpoint;  // for the tools: bounded connection settings added
  std::unique_ptr<pg::Session> session;
  std::string snapshot;
  std::string database;
  int major = 0;
  int64_t size_bytes = 0;  // of the whole database: about what the copy takes
  pg::Catalog before;  // lists and sizes; sequence values as the copy began
};


Result<std::unique_ptr<pg::Session>> connect_source(LogicalCopier& copier, Endpoint& endpoint,
                                                    const ImportOptions& o) {
  auto session = copier.connect(endpoint, o.connect_timeout_s);
  if (!session && pg::needs_password(session.error()) && o.ask_password) {
    if (auto password = o.ask_password()) {
      endpoint.password = *password;
      session = copier.connect(endpoint, o.connect_timeout_s);
    }
  }
  if (!session && pg::needs_password(session.error()))
    return fail(session.error().message +
                "; the source wants a password: set PGPASSWORD, add it to ~/.pgpass (mode 0600) "
                "or a service's passfile, or run pgd on a terminal to be asked");
  return session;
}

Result<OpenSource> open_source(Context& ctx, LogicalCopier& copier, const ImportOptions& o,
                               Timings& timings, const std::string& subject) {
  OpenSource src;
  src.endpoint = Endpoint{o.source, "", "source " + o.source};
  return timed(ctx, timings, subject, "connect", [&]() -> Result<OpenSource> {
    TRY_ASSIGN(src.session, connect_source(copier, src.endpoint, o));
    // One snapshot for the whole copy: every table as of the same moment.
    TRY(src.session->exec("begin isolation level repeatable read, read only"));
    const std::string sql = "select pg_export_snapshot(), current_database(), "
                            "current_setting('server_version_num'), pg_database_size(current_database())";
    TRY_ASSIGN(pg::Row row, src.session->query_row(sql, 4));
    src.snapshot = row[0];
    src.database = row[1];
    src.major = parse_number<int>(row[2]).value_or(0) / 10000;
    src.size_bytes = parse_number<int64_t>(row[3]).value_or(0);
    TRY_ASSIGN(src.before, pg::read_catalog(*src.session, pg::CountRows::No));
    src.endpoint.conninfo = pg::with_settings(o.source, pg::bounded_connection(o.connect_timeout_s));
    return std::move(src);
  });
}

// The version the copy runs: the requested one or the newest installed, never
// older than the source (pg_dump cannot read a newer server, and a restore
// into an older one is not supported).
Result<int> import_version(Context& ctx, int source_major, std::optional<int> wanted) {
  auto installed = ctx.postgres.installed_versions();
  if (installed.empty())
    return fail("no PostgreSQL server is installed; install one: apt-get install postgresql-15");
  if (source_major > installed.back())
    return fail(fmt::format("the source runs PostgreSQL {}, newer than any installed here (newest: {}); "
                            "pg_dump {} cannot read it: install postgresql-{}",
                            source_major, installed.back(), installed.back(), source_major));
  int version = wanted.value_or(installed.back());
  if (std::find(installed.begin(), installed.end(), version) == installed.end())
    return fail(ErrorKind::Usage, fmt::format("PostgreSQL {} is not installed; install it with "
                                              "apt-get install postgresql-{}", version, version));
  if (version < source_major)
    return fail(ErrorKind::Usage, fmt::format("the source runs PostgreSQL {}: a copy needs version "
                                              "{} or newer, not {}", source_major, source_major, version));
  return version;
}

Status check_extensions(Context& ctx, const OpenSource& src, int version) {
  TRY_ASSIGN(auto available, ctx.postgres.available_extensions(version));
  std::vector<std::string> missing, packages;
  for (const auto& e : src.before.lists.at("extensions")) {
    if (available.count(e)) continue;
    missing.push_back(e);
    packages.push_back(pg::package_for_extension(e, version));
  }
  if (missing.empty()) return {};
  return fail(fmt::format("the source uses extension(s) that PostgreSQL {} here lacks: {}; install "
                          "them first: apt-get install {}",
                          version, join(missing, ", "), join(packages, " ")));
}

// A bulk load: nothing here must survive a crash (a failed import is thrown
// away), so skip what makes writes durable one by one; the flush at the end
// makes the result durable at once.
std::vector<std::pair<std::string, std::string>> bulk_load_settings() {
  // max_wal_size stays at its default: more would hold more WAL in the pool
  // during the load, and with fsync off a checkpoint costs little.
  return {{"fsync", "off"},         {"full_page_writes", "off"}, {"synchronous_commit", "off"},
          {"wal_level", "minimal"}, {"max_wal_senders", "0"},    {"archive_mode", "off"},
          {"autovacuum", "off"},    {"maintenance_work_mem", "256MB"}};
}

// Live progress of the data phase: tables started (from pg_restore's lines)
// and bytes loaded (the copy's size, asked once a second).
class DataProgress {
 public:
  DataProgress(Context& ctx, const Instance& in, std::string password, std::string database,
               std::string subject, const OpenSource& src)
      : m_ctx(ctx), m_in(in), m_password(std::move(password)), m_database(std::move(database)),
        m_subject(std::move(subject)), m_total_bytes(src.before.table_bytes()),
        m_tables(src.before.data_tables.size()) {}

  void start() {
    m_baseline = size();
    m_started = std::chrono::steady_clock::now();
    m_last = m_started;
  }
  void line(const std::string& l) {
    if (l.find("dumping contents of table") != std::string::npos) ++m_started_tables;
  }
  bool tick() {
    if (m_ctx.processes.interrupted()) return false;
    if (!m_ctx.progress || os::elapsed_ms(m_last) < 1000) return true;
    m_last = std::chrono::steady_clock::now();
    int64_t done = std::max<int64_t>(0, size() - m_baseline);
    double seconds = os::elapsed_ms(m_started) / 1000.0;
    m_ctx.progress->phase_note(
        m_subject,
        fmt::format("{} of {}, {} of {} tables started, {}/s", format_bytes(uint64_t(done)),
                    format_bytes(uint64_t(m_total_bytes)), std::min(m_started_tables, m_tables),
                    m_tables, format_bytes(uint64_t(seconds > 0 ? double(done) / seconds : 0))),
        os::elapsed_ms(m_started));
    return true;
  }

 private:
  int64_t size() {
    auto rows = m_ctx.postgres.query(m_in, m_password,
                                     "select pg_database_size(" + pg::quote_literal(m_database) + ")");
    if (!rows || rows->empty() || rows->front().empty()) return m_baseline;
    return parse_number<int64_t>(rows->front()[0]).value_or(m_baseline);
  }
  Context& m_ctx;
  const Instance& m_in;
  std::string m_password, m_database, m_subject;
  int64_t m_total_bytes = 0, m_baseline = 0;
  size_t m_tables = 0, m_started_tables = 0;
  std::chrono::steady_clock::time_point m_started, m_last;
};

Status copy_roles(Context& ctx, LogicalCopier& copier, const OpenSource& src, const Instance& in,
                  const Endpoint& target, const std::string& password, const std::string& work) {
  TRY_ASSIGN(std::string roles, copier.dump_roles(in.pg_version, src.endpoint));
  TRY_ASSIGN(pg::Rows rows, ctx.postgres.query(in, password, "select quote_ident(rolname) from pg_roles"));
  std::set<std::string> existing;
  for (const auto& r : rows)
    if (!r.empty()) existing.insert(r[0]);
  std::string file = work + "/roles.sql";
  TRY(ctx.files.write_atomic(file, pg::drop_existing_roles(roles, existing), 0600, std::nullopt));
  return copier.run_sql_file(in.pg_version, target, file);
}

Status verify(Context& ctx, OpenSource& src, const Instance& in, const std::string& password,
              ImportStats& stats) {
  TRY_ASSIGN(auto session, ctx.postgres.connect(in, password, src.database));
  // Both sides scan at once, each server on its own core: verification costs
  // the slower of the two scans, not their sum. The thread only uses its own
  // session; the runner stays on this one.
  auto copy_read = std::async(std::launch::async,
                              [&session] { return pg::read_catalog(*session, pg::CountRows::Yes); });
  // Still inside the snapshot: the counts are those the copy was made from.
  auto source_read = pg::read_catalog(*src.session, pg::CountRows::Yes);
  auto copy_result = copy_read.get();
  TRY_ASSIGN(pg::Catalog source, std::move(source_read));
  TRY_ASSIGN(pg::Catalog copy, std::move(copy_result));
  auto differences = pg::compare_catalogs(src.before, source, copy);
  if (!differences.empty())
    return fail(fmt::format("the copy of {} differs from the source: {}", src.database,
                            join(differences, "; ")));
  stats.tables = source.row_counts.size();
  for (const auto& [table, n] : source.row_counts) stats.rows += n;
  stats.bytes = src.before.table_bytes();
  return {};
}

// Roles, schema, data, indexes and verification into the cluster of `in`
// (initdb'd, stopped), run with bulk-load settings; stopped again, flushed
// and configured as `in` at the end.
Status copy_into(Context& ctx, LogicalCopier& copier, OpenSource& src, const Instance& in,
                 const std::string& password, const ImportOptions& o, ImportStats& stats,
                 Operation& op) {
  Instance bulk = in;
  bulk.settings = bulk_load_settings();
  TRY(ctx.postgres.configure(bulk));
  TRY(ctx.postgres.start(bulk));
  ScopeGuard stop([&] {
    warn_if_failed(ctx, ctx.postgres.stop(bulk, StopMode::Immediate), "stopping " + in.name);
  });
  std::string work = in.data_dir + "/pgd_import";
  TRY(ctx.files.make_dirs(work, 0700));
  const std::string& subject = in.name;
  Endpoint server{local_conninfo(in, "postgres"), password, "branch '" + in.name + "'"};
  Endpoint database{local_conninfo(in, src.database), password, server.label};
  Watch watch{{}, [&] { return ctx.processes.interrupted() == 0; }};
  TRY(timed(ctx, stats.phases, subject, "roles",
            [&] { return copy_roles(ctx, copier, src, in, server, password, work); }));
  TRY(op.step("roles"));
  TRY(timed(ctx, stats.phases, subject, "schema", [&]() -> Status {
    TRY(copier.dump_schema(in.pg_version, src.endpoint, src.snapshot, work + "/schema.dump"));
    // A database named postgres exists already: restore into it.
    bool create = src.database != "postgres";
    return copier.restore_schema(in.pg_version, create ? server : database, work + "/schema.dump",
                                 Section::PreData, 1, create, watch);
  }));
  TRY(op.step("schema"));
  DataProgress progress(ctx, bulk, password, src.database, subject, src);
  progress.start();
  Watch data_watch{[&](const std::string& l) { progress.line(l); }, [&] { return progress.tick(); }};
  TRY(timed(ctx, stats.phases, subject, "data", [&] {
    return copier.copy_data(in.pg_version, src.endpoint, src.snapshot, database,
                            pg::plan_streams(src.before.data_tables, o.jobs), data_watch);
  }));
  TRY(op.step("data"));
  TRY(timed(ctx, stats.phases, subject, "indexes", [&] {
    return copier.restore_schema(in.pg_version, database, work + "/schema.dump", Section::PostData,
                                 o.jobs, false, watch);
  }));
  TRY(op.step("indexes"));
  TRY(timed(ctx, stats.phases, subject, "verify", [&] { return verify(ctx, src, bulk, password, stats); }));
  // Planner statistics now, once, before the base snapshot: every branch has
  // them from its first query instead of analyzing (and writing) on its own.
  TRY(timed(ctx, stats.phases, subject, "analyze", [&]() -> Status {
    TRY_ASSIGN(auto session, ctx.postgres.connect(bulk, password, src.database));
    return session->exec("ANALYZE");
  }));
  TRY(op.step("verified"));
  TRY(ctx.files.remove_tree(work));
  TRY(timed(ctx, stats.phases, subject, "flush", [&]() -> Status {
    TRY(ctx.postgres.stop(bulk, StopMode::Fast));
    return ctx.postgres.flush_to_disk(bulk);
  }));
  stop.dismiss();
  stats.database = src.database;
  stats.source = o.source;
  return ctx.postgres.configure(in);
}

// A copy that cannot fit fails now, not after minutes of copying.
Status check_room(Context& ctx, const OpenSource& src, const std::string& subject) {
  constexpr int64_t k_margin = 64LL << 20;  // the cluster itself, WAL, work files
  TRY_ASSIGN(uint64_t free, ctx.storage.free_bytes());
  if (int64_t(free) >= src.size_bytes + k_margin) return {};
  return fail(fmt::format("{}: the source database {} takes {}, and the pool {} has {} free: "
                          "delete branches or snapshots you no longer need, or grow the pool",
                          subject, src.database, format_bytes(uint64_t(src.size_bytes)),
                          ctx.storage.root(), format_bytes(free)));
}

// Everything checked before anything is made: the source answers, and its
// version and extensions can be copied here.
Result<OpenSource> prepare(Context& ctx, LogicalCopier& copier, const ImportOptions& o,
                           std::optional<int> version_wanted, Timings& timings,
                           const std::string& subject, int& version) {
  TRY(check_source(o.source));
  if (o.jobs < 1 || o.jobs > 64) return fail(ErrorKind::Usage, "--jobs must be between 1 and 64");
  if (o.connect_timeout_s < 1) return fail(ErrorKind::Usage, "--connect-timeout must be at least 1 second");
  TRY_ASSIGN(OpenSource src, open_source(ctx, copier, o, timings, subject));
  TRY_ASSIGN(version, import_version(ctx, src.major, version_wanted));
  TRY(check_extensions(ctx, src, version));
  TRY(check_room(ctx, src, subject));
  return src;
}

std::string refresh_label(int64_t now_us) { return timed_label("before-refresh", now_us); }

}  // namespace

Status check_source(const std::string& source, const std::string& option) {
  if (source.empty()) return fail(ErrorKind::Usage, option + " needs a connection string");
  auto check = pg::check_conninfo(source);
  if (!check.error.empty())
    return fail(ErrorKind::Usage, fmt::format("{}: not a PostgreSQL connection string: {}", option, check.error));
  if (check.has_password)
    return fail(ErrorKind::Usage,
                fmt::format("{} holds a password, which would show in ps and in shell history: remove it and "
                            "use PGPASSWORD, ~/.pgpass, a service ({} service=NAME) or the prompt",
                            option, option));
  return {};
}

Result<Imported> import_project(Context& ctx, LogicalCopier& copier, const std::string& name,
                                const ImportOptions& o) {
  TRY(validate_name("project", name));
  TRY_ASSIGN(auto existing, ctx.store.project(name));  // before the source is asked anything
  if (existing) return fail(ErrorKind::Conflict, fmt::format("project '{}' already exists", name));
  Imported out;
  int version = 0;
  TRY_ASSIGN(OpenSource src, prepare(ctx, copier, o, o.pg_version, out.stats.phases, name + "/main", version));
  TRY_ASSIGN(out.created, create_project(ctx, name, version,
                                         [&](const BranchRecord&, const Instance& in,
                                             const std::string& password, Operation& op) -> Status {
    TRY(copy_into(ctx, copier, src, in, password, o, out.stats, op));
    return ctx.store.set_project_source(name, src.database, o.source, ctx.clock.now_iso8601());
  }));
  return out;
}

Result<Imported> refresh_project(Context& ctx, LogicalCopier& copier, const std::string& name,
                                 const ImportOptions& options) {
  auto started = std::chrono::steady_clock::now();
  TRY(validate_name("project", name));
  TRY_ASSIGN(ProjectRecord project, require_project(ctx, name));
  if (project.following())
    return fail(ErrorKind::Usage, fmt::format("project '{}' follows its primary: main is always fresh, "
                                              "and a branch of it holds production as it is now", name));
  if (!project.source)
    return fail(ErrorKind::Usage, fmt::format("project '{}' was not imported, so it has no source to "
                                              "refresh from (see pgd project create --from)", name));
  ImportOptions o = options;
  o.source = *project.source;
  Imported out;
  int version = 0;
  std::string subject = name + "/main";
  TRY_ASSIGN(OpenSource src, prepare(ctx, copier, o, project.pg_version, out.stats.phases, subject, version));
  TRY(require_free_space(ctx, "refresh of '" + subject + "'"));
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "project.refresh", name, subject));
  TRY_ASSIGN(BranchRecord main, require_branch(ctx, BranchRef{name, "main"}));
  TRY_ASSIGN(std::string password, load_password(ctx.files, ctx.paths, name));
  // The new copy grows beside main, on a port of its own; '.' never appears in
  // a branch name, and doctor removes the volume if pgd dies before the swap.
  std::string fresh = main.volume + ".refresh";
  TRY(ctx.storage.destroy(fresh));
  TRY(ctx.storage.create_volume(fresh));
  Instance in = instance_for(ctx, main);
  Instance tmp = in;
  tmp.name = subject + " (refresh)";
  tmp.data_dir = ctx.storage.path(fresh);
  TRY_ASSIGN(tmp.port, ctx.store.allocate_port(ctx.port_free));
  tmp.listen_port = 0;  // a server of this command only: no daemon answers its port
  tmp.socket_dir = ctx.paths.socket_dir(tmp.port);
  tmp.log_path = in.log_path + ".refresh";
  ScopeGuard drop_fresh([&] {
    os::DeferInterrupts finish_the_undo;
    warn_if_failed(ctx, ctx.postgres.stop(tmp, StopMode::Immediate), "stopping " + tmp.name);
    warn_if_failed(ctx, ctx.storage.destroy(fresh), "removing the unused copy " + ctx.storage.path(fresh));
  });
  TRY(op.step("volume-created"));
  TRY(timed(ctx, out.stats.phases, subject, "initdb", [&] { return ctx.postgres.init_cluster(tmp, password); }));
  TRY(copy_into(ctx, copier, src, tmp, password, o, out.stats, op));
  TRY(op.step("copied"));
  // The old main, kept whole: branches from it, or the data as it was.
  TRY_ASSIGN(SnapshotCreated saved,
             take_snapshot(ctx, op, BranchRef{name, "main"}, refresh_label(ctx.clock.now_us())));
  out.before_refresh = saved.snapshot;
  ScopeGuard drop_saved([&] { warn_if_failed(ctx, destroy_snapshot(ctx, saved.snapshot), "removing " + saved.snapshot.id); });
  TRY(op.step("saved"));
  bool was_running = ctx.postgres.running_pid(in).has_value();
  TRY(timed(ctx, out.created.timings, subject, "stop", [&] { return ctx.postgres.stop(in); }));
  ScopeGuard restart([&] {
    os::DeferInterrupts finish_the_undo;
    if (was_running)
      warn_if_failed(ctx, ctx.postgres.start(in).map([](pid_t) {}), "restarting branch '" + subject + "'");
  });
  TRY(op.step("stopped"));
  TRY(timed(ctx, out.created.timings, subject, "swap", [&]() -> Status {
    TRY(ctx.storage.destroy(main.volume));
    return ctx.storage.rename(fresh, main.volume);
  }));
  drop_fresh.dismiss();
  drop_saved.dismiss();
  restart.dismiss();
  // From here main holds the new copy: the rest only makes it main's (doctor
  // --fix finishes it from the last step), and a signal no longer stops it.
  op.finish_regardless();
  TRY(op.step("swapped"));
  TRY(finish_refresh(ctx, main, "swapped"));
  warn_if_failed(ctx, ctx.files.remove_file(tmp.log_path), "removing " + tmp.log_path);
  TRY(ctx.store.set_project_source(name, src.database, o.source, ctx.clock.now_iso8601()));
  out.created.branch = main;
  out.created.total_ms = os::elapsed_ms(started);
  return out;
}

Status finish_refresh(Context& ctx, const BranchRecord& main, const std::string& step) {
  Instance in = instance_for(ctx, main);
  if (step == "swapped") {
    // Killed after the start below: make it again from a stopped cluster.
    TRY(ctx.postgres.stop(in));
    // The old bases start the old cluster's WAL history, which ends here.
    TRY_ASSIGN(auto snapshots, ctx.store.snapshots(main.project, main.name));
    for (const auto& s : snapshots)
      if (s.kind == SnapshotKind::Base) TRY(destroy_snapshot(ctx, s));
    TRY(prepare_archive(ctx, main, FreshArchive::Yes));
    TRY(ctx.postgres.prepare_clone(in, Recovery::No));
    Timings ignored;
    TRY(take_base(ctx, ignored, main, ClonePoints{}));
  }
  if (main.state == BranchState::Stopped) return {};  // as the user left it
  if (!ctx.postgres.running_pid(in)) TRY(ctx.postgres.start(in));
  return ctx.store.set_branch_state(main.project, main.name, BranchState::Running);
}

}  // namespace pgd
