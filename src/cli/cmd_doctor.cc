// pgd doctor [--fix]: checks the system, the pool, permissions, and every
// record against reality (core/repair.h). Each problem says how to fix it;
// --fix repairs what pgd can. Exit code 1 while anything is unhealthy.
#include <sys/stat.h>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/views.h"
#include "core/repair.h"
#include "core/wal_ops.h"
#include "os/fs.h"
#include "os/process.h"
#include "postgres/native_postgres.h"

namespace pgd::cli {
namespace {

struct Check {
  std::string name;
  bool ok = true;
  std::string detail;
  std::string fix;
};

std::string os_release() {
  auto content = os::read_file("/etc/os-release");
  if (!content) return "unknown";
  auto pos = content->find("PRETTY_NAME=\"");
  if (pos == std::string::npos) return "unknown";
  pos += 13;
  return content->substr(pos, content->find('"', pos) - pos);
}

void check_system(std::vector<Check>& checks, const Paths& paths) {
  checks.push_back({"Operating system", true, os_release(), ""});
  auto versions = NativePostgres(os::current_user(), paths.tmp_dir()).installed_versions();
  std::string list;
  for (int v : versions) list += (list.empty() ? "" : ", ") + std::to_string(v);
  checks.push_back({"PostgreSQL", !versions.empty(),
                    versions.empty() ? "no server binaries in /usr/lib/postgresql" : "installed: " + list,
                    "apt-get install postgresql-15"});
  auto btrfs = os::run({"btrfs", "--version"});
  bool has_btrfs = btrfs && btrfs->exit_code == 0;
  std::string version = has_btrfs ? btrfs->output.substr(0, btrfs->output.find('\n')) : "not found";
  checks.push_back({"btrfs-progs", has_btrfs, version, "apt-get install btrfs-progs"});
}

void check_pool(std::vector<Check>& checks, const PoolConfig& pool) {
  bool mounted = pool.mode != "file" || os::is_mount_point(pool.mount_point);
  checks.push_back({"Pool mounted", mounted,
                    pool.mode == "file" ? fmt::format("{} at {}", pool.pool_file, pool.mount_point)
                                        : pool.mount_point,
                    "sudo pgd setup   (re-attaches the recorded pool)"});
  if (!mounted) return;
  std::string kind = os::filesystem_kind(pool.mount_point);
  checks.push_back({"Pool filesystem", kind == pool.kind,
                    kind == pool.kind ? kind : fmt::format("{} (recorded: {})", kind.empty() ? "other" : kind, pool.kind),
                    "pgd setup --dir DIR (on btrfs or XFS)"});
  if (auto usage = os::filesystem_usage(pool.mount_point)) {
    bool roomy = usage->free_bytes * 20 >= usage->total_bytes;
    checks.push_back({"Pool free space", roomy,
                      fmt::format("{} free of {}", format_bytes(usage->free_bytes),
                                  format_bytes(usage->total_bytes)),
                      "delete unused branches and snapshots, or grow the pool"});
  }
  auto user = os::running_as_root() ? os::lookup_user(pool.pg_user) : Result<os::OsUser>(os::current_user());
  checks.push_back({"Postgres user", bool(user), pool.pg_user, "sudo pgd setup"});
}

// Files that must stay private: mode and, for archives, owner.
void check_permissions(std::vector<Check>& checks, Context& ctx) {
  auto mode_ok = [](const std::string& path, unsigned forbidden) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && (st.st_mode & forbidden) == 0;
  };
  std::vector<std::string> bad;
  for (const auto& path : {ctx.paths.state_db(), ctx.paths.secrets_dir()})
    if (!mode_ok(path, 077)) bad.push_back(path);
  if (auto projects = ctx.store.projects())
    for (const auto& p : *projects)
      if (!mode_ok(ctx.paths.password_file(p.name), 077)) bad.push_back(ctx.paths.password_file(p.name));
  if (auto branches = ctx.store.branches())
    for (const auto& b : *branches)
      if (os::exists(ctx.paths.wal_dir(b.project, b.name)) && !mode_ok(ctx.paths.wal_dir(b.project, b.name), 077))
        bad.push_back(ctx.paths.wal_dir(b.project, b.name));
  std::string list;
  for (const auto& b : bad) list += (list.empty() ? "" : ", ") + b;
  checks.push_back({"Permissions", bad.empty(),
                    bad.empty() ? "state, secrets and archives are private" : "readable by others: " + list,
                    "chmod go-rwx " + list});
}

void check_archivers(std::vector<Check>& checks, Context& ctx) {
  auto branches = ctx.store.branches();
  if (!branches) return;
  for (const auto& b : *branches) {
    if (b.state != BranchState::Running) continue;
    auto info = wal_info(ctx, b);
    if (!info || !info->archiver || info->archiver->failed_count == 0) continue;
    bool failing = info->archiver->last_failed_time > info->archiver->last_archived_time;
    if (failing)
      checks.push_back({"WAL archiving " + b.full_name(), false,
                        fmt::format("{} failures, last {} at {}", info->archiver->failed_count,
                                    info->archiver->last_failed_wal, info->archiver->last_failed_time),
                        "see " + ctx.paths.log_file(b.project, b.name) + " (disk full? archive dir permissions?)"});
  }
}

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

Result<Report> examine(Env& env) {
  Report r;
  check_system(r.checks, env.paths());
  auto pool = env.pool();
  if (!pool) {
    r.checks.push_back({"Pool", false, "not set up", "sudo pgd setup --pool-file /var/lib/pgd/pool.img --size 20G"});
    return r;
  }
  check_pool(r.checks, *pool);
  auto ctx = env.context();
  if (!ctx) {
    r.checks.push_back({"Storage", false, ctx.error().message, "sudo pgd setup"});
    return r;
  }
  check_permissions(r.checks, **ctx);
  check_archivers(r.checks, **ctx);
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
