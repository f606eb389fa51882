// Setting up and tearing down the pool: the embedded image (btrfs or XFS), or a
// btrfs or XFS directory the user already has. Idempotent: running setup again re-attaches
// what is recorded (e.g. after a reboot) and changes nothing else.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/host.h"
#include "os/files.h"

namespace pgd {

struct SetupRequest {
  std::optional<std::string> pool_file;  // embedded pool image (needs root)
  std::optional<uint64_t> size_bytes;    // for a new image; default 20 GiB
  std::optional<std::string> fs;         // for a new image: "btrfs" | "xfs"
  std::optional<std::string> dir;        // an existing btrfs or XFS directory
  std::optional<std::string> mount_point;
  std::string pg_user = "pgd";           // used when pgd runs as root
};

struct SetupDone {
  PoolConfig pool;
  std::vector<std::string> actions;  // what this run did, for the user
};

inline constexpr uint64_t k_default_pool_size = 20ULL << 30;
// The filesystem of a new image when --fs is not given (see docs/runtime.md).
inline constexpr const char* k_default_pool_fs = "btrfs";

// What setup works with: there is no pool (so no Context) yet.
struct SetupEnv {
  Paths paths;
  Store& store;
  os::Files& files;
  Host& host;
};

Result<SetupDone> setup_pool(SetupEnv& env, const SetupRequest& request);
// The OS user Postgres runs as, per the recorded pool.
Result<os::OsUser> postgres_user(Host& host, const PoolConfig& pool);

// Stops every running branch (their recorded state stays, so `start --all`
// brings them back) and unmounts an embedded pool.
Result<std::vector<std::string>> detach_pool(Context& ctx, Host& host, const PoolConfig& pool);

struct StartAllResult {
  std::vector<std::string> started;
  std::vector<Error> failed;
};
// Starts every branch recorded as running that is not.
StartAllResult start_all(Context& ctx);

}  // namespace pgd
