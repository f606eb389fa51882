#include "core/checks.h"

#include <fmt/format.h>

#include "base/names.h"
#include "base/strings.h"
#include "core/follow.h"
#include "core/setup.h"
#include "core/wal_ops.h"

namespace pgd {
namespace {

std::string os_release(os::Files& files) {
  auto content = files.read("/etc/os-release");
  if (!content) return "unknown";
  auto pos = content->find("PRETTY_NAME=\"");
  if (pos == std::string::npos) return "unknown";
  pos += 13;
  return content->substr(pos, content->find('"', pos) - pos);
}

Check tool_check(Host& host, const std::string& package, const std::vector<std::string>& argv) {
  auto version = host.tool_version(argv);
  return {package, bool(version), version ? *version : "not found", "apt-get install " + package};
}

}  // namespace

std::vector<Check> check_system(Host& host, os::Files& files, const std::vector<int>& pg_versions,
                                const std::optional<PoolConfig>& pool) {
  std::vector<Check> checks;
  checks.push_back({"Operating system", true, os_release(files), ""});
  std::vector<std::string> names;
  for (int v : pg_versions) names.push_back(std::to_string(v));
  checks.push_back({"PostgreSQL", !pg_versions.empty(),
                    pg_versions.empty() ? "no server binaries in /usr/lib/postgresql"
                                        : "installed: " + join(names, ", "),
                    "apt-get install postgresql-15"});
  if (!pool || pool->kind == "btrfs") checks.push_back(tool_check(host, "btrfs-progs", {"btrfs", "--version"}));
  if (!pool || pool->kind == "xfs") checks.push_back(tool_check(host, "xfsprogs", {"mkfs.xfs", "-V"}));
  return checks;
}

Check check_boot(Host& host) {
  const std::string by_hand = "after a boot, run 'sudo pgd setup && pgd start --all'";
  std::string state = host.boot_unit_state();
  if (state.empty()) return {"Start at boot", true, "no systemd here: " + by_hand, ""};
  if (state == "enabled") return {"Start at boot", true, "pgd.service is enabled", ""};
  if (state == "not-found")
    return {"Start at boot", true, "pgd.service is not installed (make install and the package add it): " + by_hand, ""};
  return {"Start at boot", false, "pgd.service is " + state, "sudo systemctl enable pgd.service"};
}

std::vector<Check> check_pool(Host& host, const PoolConfig& pool) {
  std::vector<Check> checks;
  bool mounted = pool.mode != "file" || host.is_mount_point(pool.mount_point);
  checks.push_back({"Pool mounted", mounted,
                    pool.mode == "file" ? fmt::format("{} at {}", pool.pool_file, pool.mount_point)
                                        : pool.mount_point,
                    "sudo pgd setup   (re-attaches the recorded pool)"});
  if (!mounted) return checks;
  std::string kind = host.filesystem_kind(pool.mount_point);
  checks.push_back({"Pool filesystem", kind == pool.kind,
                    kind == pool.kind ? kind
                                      : fmt::format("{} (recorded: {})", kind.empty() ? "other" : kind, pool.kind),
                    "pgd setup --dir DIR (on btrfs or XFS)"});
  if (auto usage = host.filesystem_usage(pool.mount_point)) {
    bool roomy = usage->free_bytes * 20 >= usage->total_bytes;
    checks.push_back({"Pool free space", roomy,
                      fmt::format("{} free of {}", format_bytes(usage->free_bytes),
                                  format_bytes(usage->total_bytes)),
                      "delete unused branches and snapshots, or grow the pool"});
  }
  checks.push_back({"Postgres user", bool(postgres_user(host, pool)), pool.pg_user, "sudo pgd setup"});
  return checks;
}

Check check_permissions(Context& ctx) {
  auto is_private = [&](const std::string& path) {
    auto mode = ctx.files.mode(path);
    return mode && (*mode & 077) == 0;
  };
  std::vector<std::string> bad;
  for (const auto& path : {ctx.paths.state_db(), ctx.paths.secrets_dir()})
    if (!is_private(path)) bad.push_back(path);
  if (auto projects = ctx.store.projects())
    for (const auto& p : *projects)
      if (!is_private(ctx.paths.password_file(p.name))) bad.push_back(ctx.paths.password_file(p.name));
  if (auto branches = ctx.store.branches())
    for (const auto& b : *branches) {
      std::string wal = ctx.paths.wal_dir(b.project, b.name);
      if (ctx.files.exists(wal) && !is_private(wal)) bad.push_back(wal);
    }
  return {"Permissions", bad.empty(),
          bad.empty() ? "state, secrets and archives are private" : "readable by others: " + join(bad, ", "),
          "chmod go-rwx " + join(bad, " ")};
}

std::vector<Check> check_archivers(Context& ctx) {
  std::vector<Check> checks;
  auto branches = ctx.store.branches();
  if (!branches) return checks;
  for (const auto& b : *branches) {
    if (b.state != BranchState::Running) continue;
    auto info = wal_info(ctx, b);
    if (!info || !info->archiver || info->archiver->failed_count == 0) continue;
    const auto& a = *info->archiver;
    if (a.last_failed_time <= a.last_archived_time) continue;  // failed before, works now
    checks.push_back({"WAL archiving " + b.full_name(), false,
                      fmt::format("{} failures, last {} at {}", a.failed_count, a.last_failed_wal,
                                  a.last_failed_time),
                      "see " + ctx.paths.log_file(b.project, b.name) +
                          " (disk full? archive dir permissions?)"});
  }
  return checks;
}

std::vector<Check> check_following(Context& ctx) {
  std::vector<Check> checks;
  auto branches = ctx.store.branches();
  if (!branches) return checks;
  for (const auto& b : *branches) {
    if (b.state != BranchState::Running || !is_following_main(ctx, b)) continue;
    if (!ctx.postgres.running_pid(instance_for(ctx, b))) continue;  // the records' check names it
    auto st = follow_status(ctx, b);
    bool ok = st && st->receiver == "streaming";
    std::string detail =
        ok ? fmt::format("streaming from {}", st->primary)
           : fmt::format("not receiving WAL from its primary ({})",
                         st ? "receiver: " + st->receiver : st.error().message);
    if (!ok)
      if (auto why = last_failure(ctx.files, ctx.paths.log_file(b.project, b.name)); !why.empty())
        detail += "; its log says: " + why;
    checks.push_back({"Following " + b.full_name(), ok, detail,
                      "free space in the pool, or check the primary and the network to it: main "
                      "reconnects by itself and catches up (pgd status shows its lag)"});
  }
  return checks;
}

std::string last_failure(os::Files& files, const std::string& log_path) {
  auto log = files.read(log_path);
  if (!log) return "";
  std::string newest, disk_full;
  size_t end = log->size();
  for (int seen = 0; end > 0 && seen < 500; ++seen) {
    size_t start = log->rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = log->substr(start, end - start);
    end = start > 0 ? start - 1 : 0;
    if (line.find("accepting connections") != std::string::npos ||
        line.find("is starting up") != std::string::npos || line.find("shutting down") != std::string::npos)
      continue;
    for (const char* level : {"PANIC:", "FATAL:", "ERROR:"}) {
      auto at = line.find(level);
      if (at == std::string::npos) continue;
      if (newest.empty()) newest = trim(line.substr(at));
      if (line.find("No space left on device") != std::string::npos) return trim(line.substr(at));
      break;
    }
  }
  return newest;
}

}  // namespace pgd
