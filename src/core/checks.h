// doctor's checks of the machine, the pool, permissions and WAL archiving:
// each names what it looked at, whether it is fine, and the command that fixes
// it. (Records against reality: core/repair.h.)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/host.h"

namespace pgd {

struct Check {
  std::string name;
  bool ok = true;
  std::string detail;
  std::string fix;  // shown only when !ok
};

// The operating system, the installed PostgreSQL versions, and the tools of
// the pool's filesystem (btrfs-progs or xfsprogs; both before setup).
std::vector<Check> check_system(Host& host, os::Files& files, const std::vector<int>& pg_versions,
                                const std::optional<PoolConfig>& pool);
// Whether pgd comes back after a boot: the systemd unit enabled, or (without
// systemd) what to run by hand.
Check check_boot(Host& host);
// Mounted, the recorded filesystem, free space, the Postgres user.
std::vector<Check> check_pool(Host& host, const PoolConfig& pool);
// The state database, secrets and WAL archives are readable by their owner only.
Check check_permissions(Context& ctx);
// One failing check per running branch whose archiver fails now.
std::vector<Check> check_archivers(Context& ctx);
// Why a server's log says it failed last: a "No space left on device" line
// among its last 500 lines, else its newest PANIC, FATAL or ERROR (message
// only), passing over refusals of connections made while it recovers. "" if none.
std::string last_failure(os::Files& files, const std::string& log_path);
// One check per following main that should run: streaming from its primary,
// or why not (its log's last FATAL line: a full pool, a refused connection).
std::vector<Check> check_following(Context& ctx);

}  // namespace pgd
