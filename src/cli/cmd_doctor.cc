// pgd doctor: checks the system, the pool and state against reality.
// Every failed check says how to fix it; the exit code is 1 when any failed.
#include <sys/stat.h>

#include <set>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/views.h"
#include "base/names.h"
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

void check_system(std::vector<Check>& checks, const Paths& paths) {
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
  bool btrfs = os::is_btrfs(pool.mount_point);
  checks.push_back({"Pool filesystem", btrfs, btrfs ? "btrfs" : "not btrfs", "pgd setup --dir DIR (on btrfs)"});
  if (auto usage = os::filesystem_usage(pool.mount_point)) {
    bool roomy = usage->free_bytes * 20 >= usage->total_bytes;
    checks.push_back({"Pool free space", roomy,
                      fmt::format("{} free of {}", format_bytes(usage->free_bytes),
                                  format_bytes(usage->total_bytes)),
                      "delete unused branches (pgd branch delete) or grow the pool"});
  }
  auto user = os::running_as_root() ? os::lookup_user(pool.pg_user) : Result<os::OsUser>(os::current_user());
  checks.push_back({"Postgres user", bool(user), pool.pg_user, "sudo pgd setup"});
}

void check_branch(std::vector<Check>& checks, Context& ctx, const BranchRecord& b) {
  Check c{"Branch " + b.full_name(), true, "", ""};
  LiveStatus live = live_status(ctx, b);
  if (!ctx.storage.exists(b.volume)) {
    c = {c.name, false, "its data directory " + ctx.storage.path(b.volume) + " is missing",
         fmt::format("pgd branch delete {} --force", b.full_name())};
  } else if (live == LiveStatus::Creating) {
    c = {c.name, false, "creation did not finish (pgd was interrupted)",
         fmt::format("pgd branch delete {} --force", b.full_name())};
  } else if (live == LiveStatus::Failed) {
    c = {c.name, false, fmt::format("should be running on port {} but is not; log {}", b.port,
                                    ctx.paths.log_file(b.project, b.name)),
         fmt::format("pgd start {}", b.full_name())};
  } else {
    c.detail = fmt::format("{} on port {}", to_string(live), b.port);
  }
  checks.push_back(c);
}

void check_state(std::vector<Check>& checks, Context& ctx) {
  auto branches = ctx.store.branches();
  if (!branches) {
    checks.push_back({"State", false, branches.error().message, "restore state.db from a backup"});
    return;
  }
  std::set<std::string> known;
  for (const auto& b : *branches) {
    known.insert(b.volume);
    check_branch(checks, ctx, b);
  }
  if (auto snaps = ctx.store.snapshots())
    for (const auto& s : *snaps) {
      known.insert(s.volume);
      if (!ctx.storage.exists(s.volume))
        checks.push_back({"Snapshot " + s.id, false, ctx.storage.path(s.volume) + " is missing",
                          "pgd snapshot delete " + s.id});
    }
  auto projects = ctx.store.projects();
  for (const auto& p : projects ? *projects : std::vector<ProjectRecord>{}) {
    auto mode = os::read_file(ctx.paths.password_file(p.name));
    struct stat st{};
    bool ok = mode && ::stat(ctx.paths.password_file(p.name).c_str(), &st) == 0 && (st.st_mode & 077) == 0;
    checks.push_back({"Secret " + p.name, ok, ctx.paths.password_file(p.name) + (ok ? " (0600)" : " missing or readable by others"),
                      "chmod 600 " + ctx.paths.password_file(p.name)});
  }
  auto volumes = ctx.storage.list();
  for (const auto& v : volumes ? *volumes : std::vector<std::string>{}) {
    if (known.count(v)) continue;
    checks.push_back({"Orphan volume", false, ctx.storage.path(v) + " has no branch record",
                      "btrfs subvolume delete " + ctx.storage.path(v)});
  }
  checks.push_back({"Projects", true,
                    fmt::format("{} project(s), {} branch(es)", projects ? projects->size() : 0,
                                branches->size()), ""});
}

Status run_doctor(Env& env, const Output& out) {
  std::vector<Check> checks;
  check_system(checks, env.paths());
  auto pool = env.pool();
  if (!pool) {
    checks.push_back({"Pool", false, "not set up", "sudo pgd setup --pool-file /var/lib/pgd/pool.img --size 20G"});
  } else {
    check_pool(checks, *pool);
    if (auto ctx = env.context()) check_state(checks, **ctx);
    else checks.push_back({"Storage", false, ctx.error().message, "sudo pgd setup"});
  }
  bool healthy = true;
  nlohmann::json j = nlohmann::json::array();
  for (const auto& c : checks) {
    healthy = healthy && c.ok;
    j.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}, {"fix", c.ok ? "" : c.fix}});
    out.line(fmt::format("{} {}: {}{}", c.ok ? "✓" : "✗", c.name, c.detail,
                         c.ok ? "" : "\n    fix: " + c.fix));
  }
  out.document({{"healthy", healthy}, {"checks", j}});
  out.line(healthy ? "\nSummary: all checks passed." : "\nSummary: problems found (see fixes above).");
  if (!healthy) return fail(Error{ErrorKind::Failure, "doctor found problems"});
  return {};
}

}  // namespace

void add_doctor_command(CLI::App& app, Invocation& inv) {
  auto* cmd = app.add_subcommand("doctor", "Check the system, the pool and every branch");
  add_json_flag(cmd, inv);
  cmd->callback([&inv] { inv.action = run_doctor; });
}

}  // namespace pgd::cli
