#include "core/follow.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/parse.h"
#include "base/scope_guard.h"
#include "core/imports.h"
#include "core/operation.h"
#include "core/projects.h"
#include "core/secrets.h"
#include "core/snapshots.h"
#include "postgres/config.h"

namespace pgd {
namespace {

Status check_slot_name(const std::string& slot) {
  bool ok = !slot.empty() && slot.size() <= 63 &&
            std::all_of(slot.begin(), slot.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
            });
  if (ok) return {};
  return fail(ErrorKind::Usage, fmt::format("--slot '{}': a slot name is 1 to 63 lower-case letters, "
                                            "digits and underscores", slot));
}

Result<Replication*> replication(Context& ctx) {
  if (!ctx.replication) return fail("this pgd was built without replication support");
  return ctx.replication;
}

// Proves the primary answers a replication connection as this user, and
// learns the password libpq used (asking once on a terminal if it found none).
Result<PrimaryInfo> identify(Context& ctx, Primary& p, const FollowOptions& o) {
  TRY_ASSIGN(Replication * repl, replication(ctx));
  auto info = repl->identify(p);
  if (!info && pg::needs_password(info.error()) && o.ask_password) {
    if (auto password = o.ask_password()) {
      p.password = *password;
      info = repl->identify(p);
    }
  }
  if (!info && pg::needs_password(info.error()))
    return fail(info.error().message +
                "; the primary wants a password: set PGPASSWORD, add it to ~/.pgpass (mode 0600) or a "
                "service's passfile, or run pgd on a terminal to be asked");
  return info;
}

Status check_version(Context& ctx, int version_num) {
  int major = version_num / 10000;
  auto installed = ctx.postgres.installed_versions();
  if (std::find(installed.begin(), installed.end(), major) != installed.end()) return {};
  std::string list;
  for (int v : installed) list += (list.empty() ? "" : ", ") + std::to_string(v);
  return fail(fmt::format("the primary runs PostgreSQL {}, and a standby needs the same major version: "
                          "install postgresql-{} (installed here: {})",
                          major, major, list.empty() ? "none" : list));
}

// The replication password, for the Postgres user's tools and for main's
// reconnections: a pgpass file only that user can read.
Result<std::string> save_passfile(Context& ctx, const std::string& project, const std::string& password) {
  std::string dir = ctx.paths.replication_dir(project);
  TRY(ctx.files.make_dirs(ctx.paths.home + "/replication", 0711));
  TRY(ctx.postgres.make_server_dir(dir));
  TRY_ASSIGN(os::Owner owner, ctx.files.owner(dir));
  std::string path = ctx.paths.replication_passfile(project);
  TRY(ctx.files.write_atomic(path, pg::pgpass_line(password), 0600, owner));
  return path;
}

Primary recorded_primary(Context& ctx, const ProjectRecord& p) {
  std::string passfile = ctx.paths.replication_passfile(p.name);
  return Primary{p.primary.value_or("") + " passfile=" + pg::conninfo_quote(passfile), "", passfile, 10};
}

}  // namespace

bool is_following_main(Context& ctx, const BranchRecord& b) {
  if (b.parent) return false;
  auto p = ctx.store.project(b.project);
  return p && *p && (*p)->following();
}

bool came_from_primary(Context& ctx, const std::string& project) {
  auto p = ctx.store.project(project);
  return p && *p && (*p)->primary.has_value();
}

Result<std::string> session_password(Context& ctx, const BranchRecord& b) {
  if (is_following_main(ctx, b)) return std::string();
  return load_password(ctx.files, ctx.paths, b.project);
}

Status drop_owned_slot(Context& ctx, const ProjectRecord& project) {
  if (!project.slot || !project.slot_owned) return {};
  TRY_ASSIGN(Replication * repl, replication(ctx));
  TRY(repl->drop_slot(recorded_primary(ctx, project), *project.slot));
  ProjectRecord updated = project;
  updated.slot_owned = false;
  return ctx.store.set_project_follow(updated);
}

Result<BranchCreated> follow_project(Context& ctx, const std::string& name, const FollowOptions& o) {
  TRY(validate_name("project", name));
  TRY(check_source(o.primary, "--follow"));
  if (!o.slot.empty()) TRY(check_slot_name(o.slot));
  if (o.connect_timeout_s < 1) return fail(ErrorKind::Usage, "--connect-timeout must be at least 1 second");
  TRY_ASSIGN(auto existing, ctx.store.project(name));
  if (existing) return fail(ErrorKind::Conflict, fmt::format("project '{}' already exists", name));
  Primary p{o.primary, "", "", o.connect_timeout_s};
  Timings connect_timing;
  TRY_ASSIGN(PrimaryInfo info, timed(ctx, connect_timing, name + "/main", "connect",
                                     [&] { return identify(ctx, p, o); }));
  TRY(check_version(ctx, info.version_num));
  // From here every tool uses what libpq resolved, so the Postgres user's
  // tools reach the same server without the caller's environment.
  std::string endpoint = info.endpoint;
  auto init = [&](const BranchRecord& main, const Instance& in, Operation& op) -> Status {
    TRY_ASSIGN(ProjectRecord record, require_project(ctx, name));
    record.primary = endpoint;
    if (!o.slot.empty()) record.slot = o.slot;
    TRY(ctx.store.set_project_follow(record));
    TRY_ASSIGN(p.passfile, save_passfile(ctx, name, info.password));
    p.conninfo = endpoint;
    if (!o.slot.empty()) {
      TRY(ctx.replication->create_slot(p, o.slot));
      record.slot_owned = true;  // now the undo drops it
      TRY(ctx.store.set_project_follow(record));
      TRY(op.step("slot-created"));
    }
    TRY(ctx.postgres.make_server_dir(in.data_dir));
    Watch watch;
    watch.on_line = [&](const std::string& line) {
      if (ctx.progress && line.find(" kB (") != std::string::npos)
        ctx.progress->phase_note(main.full_name(), "copied " + line.substr(0, line.find(',')), 0);
    };
    watch.keep_going = [&] { return ctx.processes.interrupted() == 0; };
    TRY(ctx.replication->base_backup(in.pg_version, p, o.slot, in.data_dir, watch));
    TRY(op.step("copied"));
    std::string conninfo = fmt::format("{} passfile={} application_name={}", endpoint,
                                       pg::conninfo_quote(p.passfile), "pgd_" + name);
    return ctx.postgres.configure_standby(in, pg::FollowSettings{conninfo, o.slot});
  };
  TRY_ASSIGN(BranchCreated created, create_project(ctx, name, info.version_num / 10000, {}, init));
  created.timings.insert(created.timings.begin(), connect_timing.begin(), connect_timing.end());
  return created;
}

Result<FollowStatus> follow_status(Context& ctx, const BranchRecord& main) {
  TRY_ASSIGN(ProjectRecord project, require_project(ctx, main.project));
  FollowStatus st;
  st.primary = project.primary.value_or("");
  TRY_ASSIGN(auto session, ctx.postgres.connect(instance_for(ctx, main), ""));
  const char* sql =
      "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'disconnected'), "
      "coalesce(pg_last_wal_replay_lsn()::text, ''), "
      // The primary's end as its last message said, else what main received.
      "coalesce(pg_wal_lsn_diff(coalesce((SELECT latest_end_lsn FROM pg_stat_wal_receiver), "
      "pg_last_wal_receive_lsn()), pg_last_wal_replay_lsn())::bigint::text, ''), "
      "CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() "
      "AND coalesce((SELECT latest_end_lsn FROM pg_stat_wal_receiver) <= pg_last_wal_replay_lsn(), true) "
      "THEN '0' ELSE coalesce((extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint::text, '') END, "
      "coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')";
  TRY_ASSIGN(auto row, session->query_row(sql, 5));
  st.receiver = row[0];
  st.replay_lsn = row[1];
  if (auto bytes = parse_number<int64_t>(row[2])) st.lag_bytes = std::max<int64_t>(*bytes, 0);
  if (auto ms = parse_number<int64_t>(row[3])) st.lag_seconds = double(std::max<int64_t>(*ms, 0)) / 1000;
  st.replayed_at = row[4];
  return st;
}

namespace {

// The project's password as a SCRAM verifier, computed once (4096 rounds of
// HMAC cost milliseconds per branch) and kept beside the password, 0600.
Result<std::string> project_verifier(Context& ctx, pg::Session& session, const std::string& project) {
  std::string path = ctx.paths.verifier_file(project);
  if (auto kept = ctx.files.read(path); kept && kept->starts_with("SCRAM-SHA-256$")) return *kept;
  TRY_ASSIGN(std::string password, load_password(ctx.files, ctx.paths, project));
  TRY_ASSIGN(std::string verifier, session.encrypt_password("postgres", password));
  TRY(ctx.files.write_atomic(path, verifier, 0600));
  return verifier;
}

// Gives the running, promoted copy of a primary the project's password, over
// the private socket (peer: its roles' passwords are production's).
Status set_project_password(Context& ctx, pg::Session& session, const std::string& project,
                            const std::string& subject) {
  TRY_ASSIGN(std::string verifier, project_verifier(ctx, session, project));
  auto st = session.exec("ALTER ROLE postgres PASSWORD '" + verifier + "'");
  if (!st) return fail(st.error().wrap(fmt::format("branch '{}': set the project's password", subject)));
  return {};
}

// The last commit a promoted copy replayed: kept in memory until the server
// restarts, so read right after the promotion.
constexpr char k_as_of_sql[] =
    "SELECT coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')";

// Records the primary's last commit `branch` holds; "" (no commit replayed:
// a primary idle since the base backup) records nothing.
Status record_as_of(Context& ctx, BranchRecord& branch, const std::string& as_of) {
  if (as_of.empty()) return {};
  branch.as_of = as_of;
  return ctx.store.set_branch_as_of(branch.project, branch.name, as_of);
}

}  // namespace

Status adopt_promoted_copy(Context& ctx, BranchRecord& branch, const Instance& in) {
  TRY_ASSIGN(auto session, ctx.postgres.connect(in, ""));
  TRY_ASSIGN(auto row, session->query_row(k_as_of_sql, 1));
  TRY(record_as_of(ctx, branch, row[0]));
  return set_project_password(ctx, *session, branch.project, branch.full_name());
}

Status adopt_standby_clone(Context& ctx, Timings& t, BranchRecord& branch, const Instance& in,
                           const ClonePoints& points) {
  return timed(ctx, t, branch.full_name(), "own", [&]() -> Status {
    TRY(record_as_of(ctx, branch, points.replayed_commit));
    TRY_ASSIGN(auto session, ctx.postgres.connect(in, ""));
    return set_project_password(ctx, *session, branch.project, branch.full_name());
  });
}

Status promote_project(Context& ctx, const std::string& name) {
  TRY(validate_name("project", name));
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "project.promote", name, name));
  TRY_ASSIGN(ProjectRecord project, require_project(ctx, name));
  if (!project.following())
    return fail(ErrorKind::Conflict, fmt::format("project '{}' does not follow a primary{}", name,
                                                 project.promoted_at ? " (it was promoted " + *project.promoted_at + ")" : ""));
  TRY_ASSIGN(auto main, ctx.store.branch(name, "main"));
  if (!main) return fail(fmt::format("project '{}' has no main branch; run 'pgd doctor'", name));
  Instance in = instance_for(ctx, *main);
  if (!ctx.postgres.running_pid(in))
    return fail(ErrorKind::Conflict, fmt::format("branch '{}' is stopped: start it (pgd start {}) so it "
                                                 "can replay what it received, then promote", main->full_name(),
                                                 main->full_name()));
  TRY_ASSIGN(auto session, ctx.postgres.connect(in, ""));
  TRY_ASSIGN(auto promoted, session->query_row("SELECT pg_promote(true, 60)", 1));
  if (promoted[0] != "t") return fail(fmt::format("branch '{}': not promoted within 60 s; see its log {}",
                                                  main->full_name(), in.log_path));
  op.finish_regardless();  // promoted: the rest must follow
  TRY(op.step("promoted"));
  TRY(set_project_password(ctx, *session, name, main->full_name()));
  TRY(ctx.postgres.end_following(in));
  project.promoted_at = ctx.clock.now_iso8601();
  TRY(ctx.store.set_project_follow(project));
  warn_if_failed(ctx, drop_owned_slot(ctx, project),
                 fmt::format("dropping the replication slot '{}' on the primary (drop it there: SELECT "
                             "pg_drop_replication_slot('{}'))", project.slot.value_or(""), project.slot.value_or("")));
  return ctx.files.remove_tree(ctx.paths.replication_dir(name));
}

}  // namespace pgd
