// pgd status, start, stop, restart
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/views.h"
#include "core/setup.h"
#include "base/time_format.h"
#include "os/fs.h"

namespace pgd::cli {
namespace {

struct LifecycleOptions {
  std::string ref;
  bool all = false;
};

struct StatusOptions {
  bool no_size = false;
  bool size = false;
};

// Sizes come from walking every branch's extents (btrfs filesystem du): ~0.1 s
// for a few branches, 27 s for 1,000 (bench/serve.sh). Past this many, status
// stays fast and sizes need --size.
constexpr size_t k_sized_branches_max = 100;

// ", following: streaming, lag 0 B, 0.0 s" for a following main.
std::string following_note(const nlohmann::json& f) {
  std::string note = ", following: " + f["receiver"].get<std::string>();
  if (f["lag_bytes"].is_number()) note += ", lag " + format_bytes(f["lag_bytes"].get<uint64_t>());
  if (f["lag_seconds"].is_number()) note += fmt::format(", {:.1f} s", f["lag_seconds"].get<double>());
  return note;
}

std::vector<std::string> status_row(const Output& out, const std::string& label, const nlohmann::json& b,
                                    int64_t now_us) {
  auto uptime = b["uptime_s"].is_number() ? format_duration(b["uptime_s"].get<int64_t>()) : "-";
  auto size = b.contains("size_bytes") && b["size_bytes"].is_number()
                  ? format_bytes(b["size_bytes"].get<uint64_t>())
                  : "-";
  std::string status = out.status(b["status"]);
  if (b.contains("following")) status += following_note(b["following"]);
  if (b["protected"].get<bool>()) status += ", protected";
  if (b["expires_at"].is_string()) {
    auto at = parse_iso8601_us(b["expires_at"].get<std::string>());
    int64_t left = at ? (*at - now_us) / 1'000'000 : 0;
    status += left > 0 ? ", expires in " + format_duration(left) : ", expired";
  }
  return {label, status, std::to_string(b["port"].get<int>()), uptime, size, b["created_at"]};
}

// Appends `parent`'s children (depth-first) as tree rows: ├─ for all but the last.
void add_tree_rows(const Output& out, const std::vector<nlohmann::json>& branches,
                   const std::string& parent, const std::string& indent,
                   std::vector<std::vector<std::string>>& rows, int64_t now_us) {
  std::vector<const nlohmann::json*> children;
  for (const auto& b : branches)
    if (!b["parent"].is_null() && b["parent"] == parent) children.push_back(&b);
  for (size_t i = 0; i < children.size(); ++i) {
    const auto& b = *children[i];
    bool last = i + 1 == children.size();
    rows.push_back(status_row(out, indent + (last ? "└─ " : "├─ ") + b["branch"].get<std::string>(), b, now_us));
    add_tree_rows(out, branches, b["name"], indent + (last ? "   " : "│  "), rows, now_us);
  }
}

nlohmann::json pool_json(Host& host, const PoolConfig& pool) {
  nlohmann::json pj = {{"kind", pool.kind}, {"mount_point", pool.mount_point}, {"mode", pool.mode},
                       {"pool_file", pool.pool_file}};
  if (auto usage = host.filesystem_usage(pool.mount_point)) {
    pj["size_bytes"] = usage->total_bytes;
    pj["free_bytes"] = usage->free_bytes;
    pj["used_bytes"] = usage->total_bytes - usage->free_bytes;
  }
  return pj;
}

// Every branch of every project, with sizes from one pass over the pool.
Result<nlohmann::json> projects_json(Context& ctx, bool with_size) {
  TRY_ASSIGN(auto projects, ctx.store.projects());
  TRY_ASSIGN(auto branches, ctx.store.branches());
  std::vector<std::string> volumes;
  for (const auto& b : branches) volumes.push_back(b.volume);
  auto usage = with_size ? ctx.storage.usage_of(volumes) : std::map<std::string, VolumeUsage>{};
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : projects) {
    nlohmann::json bj = nlohmann::json::array();
    for (const auto& b : branches) {
      if (b.project != p.name) continue;
      auto j = branch_json(ctx, b, false);
      if (with_size)
        j["size_bytes"] = usage.count(b.volume) ? nlohmann::json(usage[b.volume].exclusive_bytes)
                                                : nlohmann::json(nullptr);
      bj.push_back(std::move(j));
    }
    out.push_back({{"name", p.name}, {"pg_version", p.pg_version}, {"created_at", p.created_at},
                   {"branches", bj}});
  }
  return out;
}

Status run_status(const StatusOptions& o, Env& env, const Output& out) {
  TRY_ASSIGN(PoolConfig pool, env.pool());
  TRY_ASSIGN(Context * ctx, env.context());
  nlohmann::json pj = pool_json(env.host(), pool);
  if (o.size && o.no_size) return fail(ErrorKind::Usage, "--size and --no-size contradict each other");
  TRY_ASSIGN(auto all, ctx->store.branches());
  bool sized = o.size || (!o.no_size && all.size() <= k_sized_branches_max);
  TRY_ASSIGN(nlohmann::json projects, projects_json(*ctx, sized));
  bool serving = ctx->daemon_serving();
  out.document({{"pool", pj}, {"serve", {{"running", serving}}}, {"projects", projects}});
  int64_t now = ctx->clock.now_us();
  if (out.json()) return {};
  std::string usage = pj.contains("size_bytes")
                          ? fmt::format("size {}, used {}, free {}", format_bytes(pj["size_bytes"]),
                                        format_bytes(pj["used_bytes"]), format_bytes(pj["free_bytes"]))
                          : "not mounted";
  out.line(fmt::format("Pool: {} at {} ({})", pool.kind, pool.mount_point, usage));
  out.line(serving ? "pgd serve: running (sleeping branches wake on connect)"
                   : "pgd serve: not running (branches listen on their ports; sleeping ones need pgd start)");
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : projects) {
    std::vector<nlohmann::json> bj(p["branches"].begin(), p["branches"].end());
    for (const auto& b : bj) {
      if (!b["parent"].is_null()) continue;
      rows.push_back({fmt::format("{} (PostgreSQL {})", p["name"].get<std::string>(),
                                  p["pg_version"].get<int>()), "", "", "", "", ""});
      rows.push_back(status_row(out, "└─ " + b["branch"].get<std::string>(), b, now));
      add_tree_rows(out, bj, b["name"], "   ", rows, now);
    }
  }
  if (rows.empty()) {
    out.line("No projects yet: pgd project create NAME");
    return {};
  }
  out.line("");
  out.table({"PROJECT / BRANCH", "STATUS", "PORT", "UPTIME", "SIZE", "CREATED"}, rows);
  out.line("\nConnect: psql service=<project>-<branch>   or: pgd connect <project>/<branch>");
  if (!sized && !o.no_size)
    out.line(fmt::format("Sizes of {} branches take long to add up: pgd status --size", all.size()));
  return {};
}

Status run_start_all(Context& ctx, const Output& out) {
  StartAllResult r = start_all(ctx);
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& e : r.failed) failed.push_back(e.message);
  out.document({{"started", r.started}, {"failed", failed}});
  for (const auto& s : r.started) out.line("Started " + s);
  if (r.started.empty() && r.failed.empty()) out.line("Every branch that should run is running.");
  if (r.failed.empty()) return {};
  std::string msg = fmt::format("{} branch(es) failed to start:", r.failed.size());
  for (const auto& e : r.failed) msg += "\n  " + e.message;
  return fail(msg);
}

enum class Action { Start, Stop, Restart };

Status run_action(Action action, const LifecycleOptions& o, Env& env, const Output& out) {
  if (o.all == !o.ref.empty())
    return fail(ErrorKind::Usage, "name one branch as <project>/<branch>, or give --all");
  BranchRef ref;
  if (!o.all) {
    TRY_ASSIGN(ref, parse_branch_ref(o.ref));
  }
  TRY_ASSIGN(Context * ctx, env.context());
  if (o.all && action == Action::Start) return run_start_all(*ctx, out);
  std::vector<BranchRecord> targets;
  if (o.all) {
    TRY_ASSIGN(targets, ctx->store.branches());
  } else {
    TRY_ASSIGN(BranchRecord b, require_branch(*ctx, ref));
    targets.push_back(b);
  }
  nlohmann::json done = nlohmann::json::array();
  for (const auto& b : targets) {
    if (action != Action::Start) TRY(stop_branch(*ctx, b));
    if (action != Action::Stop) TRY(start_branch(*ctx, b));
    const char* verb = action == Action::Start ? "Started" : action == Action::Stop ? "Stopped" : "Restarted";
    out.line(fmt::format("{} {} (port {})", verb, b.full_name(), b.port));
    done.push_back(branch_json(*ctx, b, false));
  }
  out.document(done);
  return {};
}

void add_action(CLI::App& app, Invocation& inv, Action action, const std::string& name,
                const std::string& help) {
  auto o = std::make_shared<LifecycleOptions>();
  auto* cmd = app.add_subcommand(name, help);
  add_branch_arg(cmd, o->ref);
  if (action != Action::Restart)
    cmd->add_flag("--all", o->all,
                  action == Action::Start ? "start every branch recorded as running (after a reboot)"
                                          : "stop every branch");
  add_json_flag(cmd, inv);
  cmd->callback([&inv, o, action] {
    inv.action = [o, action](Env& e, const Output& out) { return run_action(action, *o, e, out); };
  });
}

}  // namespace

void add_lifecycle_commands(CLI::App& app, Invocation& inv) {
  auto o = std::make_shared<StatusOptions>();
  auto* status = app.add_subcommand("status", "Show the pool, projects and branches");
  add_json_flag(status, inv);
  status->add_flag("--no-size", o->no_size, "skip the exclusive size of each branch (faster)");
  status->add_flag("--size", o->size, "show sizes even past 100 branches (slow: every branch's extents are walked)");
  status->callback([&inv, o] {
    inv.action = [o](Env& e, const Output& out) { return run_status(*o, e, out); };
  });
  add_action(app, inv, Action::Start, "start", "Start a branch (or --all)");
  add_action(app, inv, Action::Stop, "stop", "Stop a branch (or --all)");
  add_action(app, inv, Action::Restart, "restart", "Restart a branch");
}

}  // namespace pgd::cli
