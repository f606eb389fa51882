#include "core/setup.h"

#include <fmt/format.h>

#include "base/names.h"
#include "core/branches.h"
#include "core/wal_ops.h"

namespace pgd {
namespace {

// PGD_HOME: the Postgres user must traverse it to reach run/<port>/ sockets
// and tmp/; secrets/ and logs/ stay private to pgd's own user.
Status make_home(os::Files& files, const Paths& paths) {
  TRY(files.make_dirs(paths.home, 0711));
  TRY(files.make_dirs(paths.home + "/run", 0711));
  TRY(files.make_dirs(paths.tmp_dir(), 0711));
  TRY(files.make_dirs(paths.secrets_dir(), 0700));
  TRY(files.make_dirs(paths.home + "/logs", 0700));
  TRY(files.make_dirs(paths.wal_root(), 0711));
  return install_archive_script(files, paths);
}

Result<os::OsUser> ensure_postgres_user(Host& host, const std::string& name) {
  if (!host.is_root()) return host.current_user();
  return host.ensure_system_user(name);
}

Status check_reachable(Host& host, const std::string& dir, const os::OsUser& user) {
  if (host.can_traverse(dir, user)) return {};
  return fail(fmt::format("{}: the Postgres user '{}' cannot reach it: make every parent "
                          "directory searchable (chmod o+x) or choose another location",
                          dir, user.name));
}

Status attach_image(Host& host, const PoolConfig& pool, std::vector<std::string>& actions) {
  if (host.is_mount_point(pool.mount_point)) {
    // A pool mounted by an older pgd gets direct I/O at the next setup.
    if (host.is_root()) host.use_direct_io(pool.mount_point);
    return {};
  }
  if (!host.is_root())
    return fail(fmt::format("pool {} is not mounted at {}; mounting needs root: sudo pgd setup",
                            pool.pool_file, pool.mount_point));
  if (!host.exists(pool.pool_file))
    return fail(fmt::format("pool image {} is missing; set up a new pool with "
                            "sudo pgd setup --pool-file FILE", pool.pool_file));
  TRY(host.mount_image(pool.pool_file, pool.mount_point, pool.kind));
  actions.push_back(fmt::format("mounted {} at {}", pool.pool_file, pool.mount_point));
  return {};
}

Result<PoolConfig> setup_image(SetupEnv& env, const SetupRequest& req,
                               const std::optional<PoolConfig>& existing,
                               std::vector<std::string>& actions) {
  Host& host = env.host;
  if (!host.is_root())
    return fail(ErrorKind::Usage,
                "pgd setup --pool-file formats and loop-mounts an image and needs root: run it "
                "with sudo, or use 'pgd setup --dir DIR' with a btrfs or XFS directory you own");
  PoolConfig pool;
  pool.mode = "file";
  pool.pool_file = host.absolute_path(*req.pool_file);
  pool.mount_point = host.absolute_path(req.mount_point.value_or(
      existing && existing->mode == "file" ? existing->mount_point : env.paths.default_mount()));
  pool.size_bytes = req.size_bytes.value_or(k_default_pool_size);
  pool.pg_user = req.pg_user;
  if (!host.exists(pool.pool_file)) {
    pool.kind = req.fs.value_or(k_default_pool_fs);
    TRY(host.create_image(pool.pool_file, pool.size_bytes, pool.kind));
    actions.push_back(fmt::format("created {} {} image {}", format_bytes(pool.size_bytes),
                                  pool.kind, pool.pool_file));
  } else {
    // An existing image keeps its filesystem: as recorded, or as blkid reads it.
    pool.kind = existing && existing->mode == "file" && existing->pool_file == pool.pool_file
                    ? existing->kind
                    : host.image_filesystem(pool.pool_file);
    if (req.fs && *req.fs != pool.kind)
      return fail(ErrorKind::Usage,
                  fmt::format("{} already holds a {} pool; --fs {} applies to a new image only",
                              pool.pool_file, pool.kind, *req.fs));
    pool.size_bytes = host.file_size(pool.pool_file);
  }
  TRY(attach_image(host, pool, actions));
  return pool;
}

Result<PoolConfig> setup_dir(Host& host, const SetupRequest& req, std::vector<std::string>& actions) {
  PoolConfig pool;
  pool.mode = "dir";
  pool.mount_point = host.absolute_path(*req.dir);
  pool.pg_user = host.is_root() ? req.pg_user : host.current_user().name;
  if (!host.exists(pool.mount_point))
    return fail(ErrorKind::Usage, fmt::format("{} does not exist: create it on a btrfs or XFS "
                                              "filesystem first", pool.mount_point));
  pool.kind = host.filesystem_kind(pool.mount_point);
  if (pool.kind.empty())
    return fail(ErrorKind::Usage,
                fmt::format("{} is not on btrfs or XFS; pgd needs copy-on-write clones for "
                            "instant branches: use a directory on btrfs or XFS (reflink=1), or let "
                            "pgd make its own pool with: sudo pgd setup --pool-file "
                            "/var/lib/pgd/pool.img --size 20G", pool.mount_point));
  if (pool.kind == "xfs") {
    if (auto st = host.check_reflink(pool.mount_point); !st) return fail(ErrorKind::Usage, st.error().message);
  }
  actions.push_back(fmt::format("using {} directory {}", pool.kind, pool.mount_point));
  return pool;
}

bool same_pool(const PoolConfig& a, const PoolConfig& b) {
  return a.kind == b.kind && a.mode == b.mode && a.pool_file == b.pool_file &&
         a.mount_point == b.mount_point;
}

}  // namespace

Result<os::OsUser> postgres_user(Host& host, const PoolConfig& pool) {
  if (!host.is_root()) return host.current_user();
  return host.lookup_user(pool.pg_user);
}

Result<SetupDone> setup_pool(SetupEnv& env, const SetupRequest& req) {
  SetupDone done;
  TRY(make_home(env.files, env.paths));
  TRY_ASSIGN(auto existing, env.store.pool());
  if (!req.pool_file && !req.dir) {
    if (!existing)
      return fail(ErrorKind::Usage,
                  "pgd is not set up yet: run 'sudo pgd setup --pool-file "
                  "/var/lib/pgd/pool.img --size 20G' or 'pgd setup --dir DIR' (a btrfs or XFS "
                  "directory)");
    if (existing->mode == "file") TRY(attach_image(env.host, *existing, done.actions));
    done.pool = *existing;
  } else {
    if (req.pool_file) {
      TRY_ASSIGN(done.pool, setup_image(env, req, existing, done.actions));
    } else {
      TRY_ASSIGN(done.pool, setup_dir(env.host, req, done.actions));
    }
    if (existing && !same_pool(*existing, done.pool)) {
      TRY_ASSIGN(auto projects, env.store.projects());
      if (!projects.empty())
        return fail(ErrorKind::Conflict,
                    fmt::format("pgd already has projects on pool {}; delete them before "
                                "switching to another pool", existing->mount_point));
    }
  }
  TRY_ASSIGN(auto user, ensure_postgres_user(env.host, done.pool.pg_user));
  done.pool.pg_user = user.name;
  TRY(check_reachable(env.host, done.pool.mount_point, user));
  TRY(check_reachable(env.host, env.paths.home + "/run", user));
  TRY(env.store.save_pool(done.pool));
  if (done.actions.empty()) done.actions.push_back("already set up; nothing to do");
  return done;
}

Result<std::vector<std::string>> detach_pool(Context& ctx, Host& host, const PoolConfig& pool) {
  std::vector<std::string> actions;
  TRY_ASSIGN(auto all, ctx.store.branches());
  for (const auto& b : all) {
    Instance in = instance_for(ctx, b);
    if (!ctx.postgres.running_pid(in)) continue;
    TRY(ctx.postgres.stop(in));
    actions.push_back("stopped " + b.full_name());
  }
  if (pool.mode == "file" && host.is_mount_point(pool.mount_point)) {
    TRY(host.unmount(pool.mount_point));
    actions.push_back(fmt::format("unmounted {} from {}", pool.pool_file, pool.mount_point));
  }
  return actions;
}

StartAllResult start_all(Context& ctx) {
  StartAllResult out;
  auto all = ctx.store.branches();
  if (!all) {
    out.failed.push_back(all.error());
    return out;
  }
  for (const auto& b : *all) {
    if (b.state != BranchState::Running || ctx.postgres.running_pid(instance_for(ctx, b))) continue;
    if (auto st = start_branch(ctx, b); st)
      out.started.push_back(b.full_name());
    else
      out.failed.push_back(st.error());
  }
  return out;
}

}  // namespace pgd
