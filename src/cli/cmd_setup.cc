// pgd setup: attach (or create) the pool; --detach stops branches and unmounts.
#include <fmt/format.h>

#include "cli/commands.h"
#include "base/names.h"
#include "core/setup.h"

namespace pgd::cli {
namespace {

struct SetupOptions {
  std::string pool_file, size, fs, dir, mount, pg_user = "pgd";
  bool detach = false;
};

nlohmann::json pool_json(const PoolConfig& p) {
  return {{"kind", p.kind},           {"mode", p.mode},        {"pool_file", p.pool_file},
          {"mount_point", p.mount_point}, {"size_bytes", p.size_bytes}, {"pg_user", p.pg_user}};
}

Status run_detach(Env& env, const Output& out) {
  TRY_ASSIGN(PoolConfig pool, env.pool());
  TRY_ASSIGN(Context * ctx, env.context());
  TRY_ASSIGN(auto actions, detach_pool(*ctx, env.host(), pool));
  if (out.json()) out.document({{"detached", true}, {"actions", actions}});
  for (const auto& a : actions) out.line(a);
  out.line("Pool detached; 'pgd setup' re-attaches it and 'pgd start --all' restarts branches.");
  return {};
}

Status run_setup(const SetupOptions& o, Env& env, const Output& out) {
  SetupRequest req;
  if (!o.pool_file.empty()) req.pool_file = o.pool_file;
  if (!o.fs.empty()) req.fs = o.fs;
  if (!o.dir.empty()) req.dir = o.dir;
  if (!o.mount.empty()) req.mount_point = o.mount;
  if (!o.size.empty()) {
    TRY_ASSIGN(req.size_bytes, parse_size(o.size));
  }
  req.pg_user = o.pg_user;
  TRY_ASSIGN(Store * store, env.store());
  SetupEnv setup{env.paths(), *store, env.files(), env.host()};
  TRY_ASSIGN(SetupDone done, setup_pool(setup, req));
  if (out.json()) {
    out.document({{"pool", pool_json(done.pool)}, {"actions", done.actions}, {"home", env.paths().home}});
    return {};
  }
  for (const auto& a : done.actions) out.line(a);
  out.line(fmt::format("Pool ready: {} at {} (Postgres runs as '{}'); state in {}",
                       done.pool.kind, done.pool.mount_point, done.pool.pg_user, env.paths().home));
  return {};
}

}  // namespace

void add_setup_command(CLI::App& app, Invocation& inv) {
  auto o = std::make_shared<SetupOptions>();
  auto* cmd = app.add_subcommand("setup", "Create or re-attach the storage pool (idempotent)");
  auto* file = cmd->add_option("--pool-file", o->pool_file,
                               "image to create (if missing) and loop-mount; needs root");
  auto* size = cmd->add_option("--size", o->size, "size of a new image, e.g. 20G (default 20G)");
  auto* fs = cmd->add_option("--fs", o->fs,
                             fmt::format("filesystem of a new image: xfs (reflink; branches run "
                                         "at ext4's speed) or btrfs (default {})",
                                         k_default_pool_fs))
                 ->check(CLI::IsMember({"btrfs", "xfs"}));
  auto* dir = cmd->add_option("--dir", o->dir,
                              "use an existing directory on btrfs or XFS (reflink=1) instead");
  cmd->add_option("--mount", o->mount, "where to mount the image (default $PGD_HOME/pool)");
  cmd->add_option("--pg-user", o->pg_user, "OS user that runs Postgres when pgd runs as root")
      ->capture_default_str();
  auto* detach = cmd->add_flag("--detach", o->detach, "stop all branches and unmount the pool");
  file->excludes(dir);
  size->needs(file);
  fs->needs(file);
  detach->excludes(file)->excludes(dir);
  add_json_flag(cmd, inv);
  cmd->callback([&inv, o] {
    inv.action = [o](Env& env, const Output& out) {
      return o->detach ? run_detach(env, out) : run_setup(*o, env, out);
    };
  });
}

}  // namespace pgd::cli
