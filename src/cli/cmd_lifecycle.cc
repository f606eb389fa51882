// pgd status, start, stop, restart
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/views.h"
#include "core/setup.h"
#include "os/fs.h"

namespace pgd::cli {
namespace {

struct LifecycleOptions {
  std::string ref;
  bool all = false;
};

// Appends `parent`'s children (depth-first) as tree rows: ├─ for all but the last.
void add_tree_rows(const std::vector<nlohmann::json>& branches, const std::string& parent,
                   const std::string& indent, std::vector<std::vector<std::string>>& rows) {
  std::vector<const nlohmann::json*> children;
  for (const auto& b : branches)
    if (!b["parent"].is_null() && b["parent"] == parent) children.push_back(&b);
  for (size_t i = 0; i < children.size(); ++i) {
    const auto& b = *children[i];
    bool last = i + 1 == children.size();
    rows.push_back({indent + (last ? "└─ " : "├─ ") + b["branch"].get<std::string>(), b["status"],
                    std::to_string(b["port"].get<int>()), b["created_at"]});
    add_tree_rows(branches, b["name"], indent + (last ? "   " : "│  "), rows);
  }
}

Status run_status(Env& env, const Output& out) {
  TRY_ASSIGN(PoolConfig pool, env.pool());
  TRY_ASSIGN(Context * ctx, env.context());
  nlohmann::json pj = {{"mount_point", pool.mount_point}, {"mode", pool.mode}, {"pool_file", pool.pool_file}};
  if (auto usage = os::filesystem_usage(pool.mount_point)) {
    pj["size_bytes"] = usage->total_bytes;
    pj["free_bytes"] = usage->free_bytes;
    pj["used_bytes"] = usage->total_bytes - usage->free_bytes;
  }
  TRY_ASSIGN(auto projects, ctx->store.projects());
  nlohmann::json projects_json = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : projects) {
    TRY_ASSIGN(auto branches, ctx->store.branches(p.name));
    std::vector<nlohmann::json> bj;
    for (const auto& b : branches) bj.push_back(branch_json(*ctx, b, false));
    for (const auto& b : bj) {
      if (!b["parent"].is_null()) continue;
      rows.push_back({fmt::format("{} (PostgreSQL {})", p.name, p.pg_version), "", "", ""});
      rows.push_back({"└─ " + b["branch"].get<std::string>(), b["status"],
                      std::to_string(b["port"].get<int>()), b["created_at"]});
      add_tree_rows(bj, b["name"], "   ", rows);
    }
    projects_json.push_back({{"name", p.name}, {"pg_version", p.pg_version},
                             {"created_at", p.created_at}, {"branches", bj}});
  }
  out.document({{"pool", pj}, {"projects", projects_json}});
  if (out.json()) return {};
  std::string usage = pj.contains("size_bytes")
                          ? fmt::format("size {}, used {}, free {}", format_bytes(pj["size_bytes"]),
                                        format_bytes(pj["used_bytes"]), format_bytes(pj["free_bytes"]))
                          : "not mounted";
  out.line(fmt::format("Pool: btrfs at {} ({})", pool.mount_point, usage));
  if (rows.empty()) {
    out.line("No projects yet: pgd project create NAME");
    return {};
  }
  out.line("");
  out.table({"PROJECT / BRANCH", "STATUS", "PORT", "CREATED"}, rows);
  out.line(fmt::format("\nConnect: psql postgresql://{}@{}:<port>/{}  (password: pgd branch password <project>/<branch>)",
                       k_superuser, k_host, k_database));
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
  cmd->add_option("name", o->ref, "branch as <project>/<branch>");
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
  auto* status = app.add_subcommand("status", "Show the pool, projects and branches");
  add_json_flag(status, inv);
  status->callback([&inv] { inv.action = run_status; });
  add_action(app, inv, Action::Start, "start", "Start a branch (or --all)");
  add_action(app, inv, Action::Stop, "stop", "Stop a branch (or --all)");
  add_action(app, inv, Action::Restart, "restart", "Restart a branch");
}

}  // namespace pgd::cli
