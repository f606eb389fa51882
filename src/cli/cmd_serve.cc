// pgd serve; pgd branch set; pgd project set (what the daemon carries out)
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "base/parse.h"
#include "base/time_format.h"
#include "cli/commands.h"
#include "cli/views.h"
#include "core/housekeeping.h"
#include "core/projects.h"
#include "serve/daemon.h"

namespace pgd::cli {

Result<std::optional<int64_t>> parse_duration_setting(const std::string& option, const std::string& text,
                                                      const std::string& off_word) {
  if (text == off_word) return std::optional<int64_t>{};
  auto seconds = parse_duration_s(text);
  if (!seconds) return fail(ErrorKind::Usage, fmt::format("{}: {} (or '{}')", option, seconds.error().message, off_word));
  return std::optional<int64_t>(*seconds);
}

namespace {

struct SetOptions {
  std::string ref, name;
  std::string ttl, idle_stop, snapshot_every, keep_snapshots, keep_wal;
  bool protect = false, unprotect = false;
};

// --idle-stop: a duration, "never" (0) or "default" (the setting removed).
Result<std::optional<std::optional<int64_t>>> idle_stop_change(const std::string& text) {
  using Change = std::optional<std::optional<int64_t>>;
  if (text.empty()) return Change{};
  if (text == "default") return Change{std::optional<int64_t>{}};
  TRY_ASSIGN(auto seconds, parse_duration_setting("--idle-stop", text, "never"));
  return Change{std::optional<int64_t>(seconds.value_or(0))};
}

Result<std::optional<std::optional<int64_t>>> duration_change(const std::string& option, const std::string& text) {
  using Change = std::optional<std::optional<int64_t>>;
  if (text.empty()) return Change{};
  TRY_ASSIGN(auto seconds, parse_duration_setting(option, text, "none"));
  return Change{seconds};
}

Status run_branch_set(const SetOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(BranchRef ref, parse_branch_ref(o.ref));
  BranchChange change;
  TRY_ASSIGN(change.ttl_s, duration_change("--ttl", o.ttl));
  TRY_ASSIGN(change.idle_stop_s, idle_stop_change(o.idle_stop));
  if (o.protect && o.unprotect) return fail(ErrorKind::Usage, "--protected and --no-protected contradict each other");
  if (o.protect || o.unprotect) change.is_protected = o.protect;
  if (!change.ttl_s && !change.idle_stop_s && !change.is_protected)
    return fail(ErrorKind::Usage, "nothing to set: give --ttl, --idle-stop, --protected or --no-protected");
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(BranchRecord b, change_branch(*ctx, ref, change));
  auto j = branch_json(*ctx, b, false);
  out.document(j);
  std::string idle = j["idle_stop_s"].is_number() ? format_duration(j["idle_stop_s"].get<int64_t>()) : "never";
  out.line(fmt::format("{}: expires {}, idle stop after {}, {}", ref.full(), b.expires_at.value_or("never"),
                       idle, b.is_protected ? "protected" : "not protected"));
  return {};
}

std::string policy_text(const std::optional<int64_t>& seconds, const std::string& off) {
  return seconds ? format_duration(*seconds) : off;
}

Status run_project_set(const SetOptions& o, Env& env, const Output& out) {
  TRY(validate_name("project", o.name));
  ProjectChange change;
  TRY_ASSIGN(change.idle_stop_s, idle_stop_change(o.idle_stop));
  TRY_ASSIGN(change.snapshot_every_s, duration_change("--snapshot-every", o.snapshot_every));
  TRY_ASSIGN(change.keep_snapshots_s, duration_change("--keep-snapshots", o.keep_snapshots));
  TRY_ASSIGN(change.keep_wal_s, duration_change("--keep-wal", o.keep_wal));
  if (!change.idle_stop_s && !change.snapshot_every_s && !change.keep_snapshots_s && !change.keep_wal_s)
    return fail(ErrorKind::Usage,
                "nothing to set: give --idle-stop, --snapshot-every, --keep-snapshots or --keep-wal");
  if (change.snapshot_every_s && *change.snapshot_every_s && **change.snapshot_every_s < 5)
    return fail(ErrorKind::Usage, "--snapshot-every: at least 5s");
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(ProjectRecord p, change_project(*ctx, o.name, change));
  nlohmann::json j = policies_json(p);
  j["name"] = p.name;
  out.document(j);
  out.line(fmt::format("{}: branches stop after {} idle; snapshot every {}, kept {}; WAL kept {}", p.name,
                       p.idle_stop_s ? (*p.idle_stop_s ? format_duration(*p.idle_stop_s) : "never")
                                     : format_duration(k_default_idle_stop_s),
                       policy_text(p.snapshot_every_s, "never"), policy_text(p.keep_snapshots_s, "forever"),
                       policy_text(p.keep_wal_s, "forever")));
  if (!ctx->daemon_serving() && (p.snapshot_every_s || p.keep_snapshots_s || p.keep_wal_s))
    out.line("pgd serve carries these out and is not running: systemctl enable --now pgd-serve (or run pgd serve)");
  return {};
}

struct ServeOptions {
  std::string log_file;
  bool relay_only = false;
};

Status run_serve(const ServeOptions& o, Env& env, const Output&) {
  // Set up, or the usual error; its clock stamps the log lines.
  TRY_ASSIGN(Context * ctx, env.context());
  os::Clock& clock = ctx->clock;
  std::FILE* log = stderr;
  if (!o.log_file.empty()) {
    log = std::fopen(o.log_file.c_str(), "a");
    if (!log) return fail(fmt::format("open {}: {}", o.log_file, std::strerror(errno)));
  }
  serve::Options options;
  options.kernel_steering = !o.relay_only;
  // PGD_SERVE_TICK_MS: a faster tick for tests (idle stop, expiry, schedules).
  if (const char* tick = std::getenv("PGD_SERVE_TICK_MS"))
    if (auto ms = parse_number<int>(tick); ms && *ms >= 50) options.tick_ms = *ms;
  options.log = [log, &clock](const std::string& line) {
    fmt::print(log, "{} pgd serve: {}\n", format_iso8601_ms(clock.now_us()), line);
    std::fflush(log);
  };
  serve::OpenContext open = [](bool serving) -> Result<std::shared_ptr<Context>> {
    auto held = std::make_shared<Env>();
    held->set_daemon_serving(serving);
    TRY_ASSIGN(Context * ctx, held->context());
    return std::shared_ptr<Context>(held, ctx);
  };
  Status st = serve::run_daemon(open, options);
  if (log != stderr) std::fclose(log);
  return st;
}

}  // namespace

void add_branch_set_command(CLI::App* group, Invocation& inv) {
  auto o = std::make_shared<SetOptions>();
  auto* set = add_leaf(group, inv, o, "set", "Set a branch's expiry, idle stop or protection", run_branch_set);
  add_branch_arg(set, o->ref)->required();
  set->add_option("--ttl", o->ttl, "delete it this long from now (30m, 3d; 'none' keeps it)");
  set->add_option("--idle-stop", o->idle_stop,
                  "stop it after this long without a client (5m; 'never'; 'default': the project's)");
  set->add_flag("--protected", o->protect, "refuse delete and reset until --no-protected");
  set->add_flag("--no-protected", o->unprotect, "lift the protection");
}

void add_project_set_command(CLI::App* group, Invocation& inv) {
  auto o = std::make_shared<SetOptions>();
  auto* set = add_leaf(group, inv, o, "set", "Set a project's idle stop, snapshot schedule and retention",
                       run_project_set);
  set->add_option("name", o->name, "project name")->required();
  set->add_option("--idle-stop", o->idle_stop,
                  "stop its branches (not main) after this long without a client (default 10m; 'never')");
  set->add_option("--snapshot-every", o->snapshot_every, "snapshot each running branch this often (1h; 'none')");
  set->add_option("--keep-snapshots", o->keep_snapshots, "delete snapshots older than this (7d; 'none')");
  set->add_option("--keep-wal", o->keep_wal, "delete archived WAL older than this that no snapshot needs (7d; 'none')");
}

void add_serve_command(CLI::App& app, Invocation& inv) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Answer every branch's port: wake on connect, idle stop, expiry, schedules");
  cmd->add_option("--log", o->log_file, "append the daemon's log here (default: standard error, e.g. the journal)");
  cmd->add_flag("--relay-only", o->relay_only,
                "pass every connection through the daemon, not only those that wake a branch (as on a kernel "
                "without BPF sk_lookup)");
  cmd->callback([&inv, o] { inv.action = [o](Env& e, const Output& out) { return run_serve(*o, e, out); }; });
}

}  // namespace pgd::cli
