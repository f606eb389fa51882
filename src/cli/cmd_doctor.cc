// pgd doctor [--fix]: checks the system, the pool, permissions, and every
// record against reality (core/repair.h). Each problem says how to fix it;
// --fix repairs what pgd can. Exit code 1 while anything is unhealthy.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/views.h"
#include "core/checks.h"
#include "core/repair.h"

namespace pgd::cli {
namespace {

struct Report {
  std::vector<Check> checks;
  std::vector<Finding> findings;
  bool healthy() const {
    for (const auto& c : checks)
      if (!c.ok) return false;
    for (const auto& f : findings)
      if (!f.fixed) return false;
    return true;
  }
};

void add(std::vector<Check>& to, const std::vector<Check>& checks) {
  to.insert(to.end(), checks.begin(), checks.end());
}

Result<Report> examine(Env& env) {
  Report r;
  auto pool = env.pool();
  add(r.checks, check_system(env.host(), env.files(), env.installed_postgres_versions(),
                             pool ? std::optional<PoolConfig>(*pool) : std::nullopt));
  if (!pool) {
    r.checks.push_back({"Pool", false, "not set up", "sudo pgd setup --pool-file /var/lib/pgd/pool.img --size 20G"});
    return r;
  }
  add(r.checks, check_pool(env.host(), *pool));
  r.checks.push_back(check_boot(env.host()));
  auto ctx = env.context();
  if (!ctx) {
    r.checks.push_back({"Storage", false, ctx.error().message, "sudo pgd setup"});
    return r;
  }
  r.checks.push_back(check_permissions(**ctx));
  add(r.checks, check_archivers(**ctx));
  add(r.checks, check_following(**ctx));
  TRY_ASSIGN(r.findings, reconcile(**ctx, Mode::Report));
  auto projects = (*ctx)->store.projects();
  auto branches = (*ctx)->store.branches();
  r.checks.push_back({"Projects", true, fmt::format("{} project(s), {} branch(es)",
                                                    projects ? projects->size() : 0,
                                                    branches ? branches->size() : 0), ""});
  return r;
}

void print(const Output& out, const Report& r, const std::vector<Finding>& repaired) {
  for (const auto& c : r.checks)
    out.line(fmt::format("{} {}: {}{}", c.ok ? "✓" : "✗", c.name, c.detail, c.ok ? "" : "\n    fix: " + c.fix));
  for (const auto& f : r.findings)
    out.line(fmt::format("✗ {}: {}\n    fix: {} (pgd doctor --fix)", f.subject, f.problem, f.fix));
  for (const auto& f : repaired)
    out.line(fmt::format("{} repaired {}: {} -> {}", f.fixed ? "✓" : "✗", f.subject, f.problem, f.fix));
  if (!out.json()) {
    out.line(r.healthy() ? "\nSummary: all checks passed." : "\nSummary: problems found (see the fixes above).");
    return;
  }
  auto finding_json = [](const Finding& f) {
    return nlohmann::json{{"subject", f.subject}, {"problem", f.problem}, {"fix", f.fix}, {"fixed", f.fixed}};
  };
  nlohmann::json checks = nlohmann::json::array(), findings = nlohmann::json::array(),
                 fixes = nlohmann::json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}, {"fix", c.ok ? "" : c.fix}});
  for (const auto& f : r.findings) findings.push_back(finding_json(f));
  for (const auto& f : repaired) fixes.push_back(finding_json(f));
  out.document({{"healthy", r.healthy()}, {"checks", checks}, {"findings", findings}, {"repaired", fixes}});
}

Status run_doctor(bool fix, Env& env, const Output& out) {
  std::vector<Finding> repaired;
  if (fix) {
    TRY_ASSIGN(Context * ctx, env.context());
    TRY_ASSIGN(repaired, reconcile(*ctx, Mode::Fix));
  }
  TRY_ASSIGN(Report report, examine(env));
  print(out, report, repaired);
  if (!report.healthy()) return fail(Error{ErrorKind::Failure, "doctor found problems"});
  return {};
}

}  // namespace

void add_doctor_command(CLI::App& app, Invocation& inv) {
  auto* cmd = app.add_subcommand("doctor", "Check the system, the pool and every branch; --fix repairs");
  auto fix = std::make_shared<bool>(false);
  cmd->add_flag("--fix", *fix, "repair what an interrupted command left: roll forward or back");
  add_json_flag(cmd, inv);
  cmd->callback([&inv, fix] {
    inv.action = [fix](Env& e, const Output& out) { return run_doctor(*fix, e, out); };
  });
}

}  // namespace pgd::cli
