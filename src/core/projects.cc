#include "core/projects.h"

#include <fmt/format.h>

#include "base/scope_guard.h"
#include "core/follow.h"
#include "core/housekeeping.h"
#include "core/operation.h"
#include "core/secrets.h"
#include "core/snapshots.h"
#include "core/tls.h"
#include "core/wal_ops.h"

namespace pgd {
namespace {

Result<int> choose_version(Context& ctx, std::optional<int> wanted) {
  auto versions = ctx.postgres.installed_versions();
  std::string list;
  for (int v : versions) list += (list.empty() ? "" : ", ") + std::to_string(v);
  if (versions.empty())
    return fail("no PostgreSQL server is installed; install one: apt-get install postgresql-15");
  if (!wanted) return versions.back();
  for (int v : versions)
    if (v == *wanted) return v;
  return fail(ErrorKind::Usage,
              fmt::format("PostgreSQL {} is not installed (installed: {}); install it with "
                          "apt-get install postgresql-{}",
                          *wanted, list, *wanted));
}

// Removes everything create_project may have made. Best effort: runs on failure paths.
void undo_create(Context& ctx, const BranchRecord& main) {
  undo_branch(ctx, main);
  if (auto p = ctx.store.project(main.project); p && *p)
    warn_if_failed(ctx, drop_owned_slot(ctx, **p),
                   fmt::format("dropping the replication slot of project '{}' on its primary", main.project));
  warn_if_failed(ctx, ctx.storage.destroy(main.project),
                 "removing the volume " + ctx.storage.path(main.project));
  warn_if_failed(ctx, remove_project_files(ctx, main.project),
                 fmt::format("removing the files of project '{}'", main.project));
  warn_if_failed(ctx, ctx.store.delete_project(main.project),
                 fmt::format("removing the record of project '{}'", main.project));
}

}  // namespace

Status remove_project_files(Context& ctx, const std::string& name) {
  TRY(remove_password(ctx.files, ctx.paths, name));
  TRY(ctx.files.remove_tree(ctx.paths.tls_dir(name)));
  TRY(ctx.files.remove_tree(ctx.paths.log_dir(name)));
  TRY(ctx.files.remove_tree(ctx.paths.replication_dir(name)));
  return ctx.files.remove_tree(ctx.paths.wal_project_dir(name));
}

std::string database_of(Context& ctx, const std::string& project) {
  auto p = ctx.store.project(project);
  return p && *p ? (*p)->database : std::string("postgres");
}

Result<ProjectRecord> require_project(Context& ctx, const std::string& name) {
  TRY_ASSIGN(auto project, ctx.store.project(name));
  if (!project)
    return fail(ErrorKind::NotFound,
                fmt::format("project '{}' does not exist (see 'pgd project list')", name));
  return *project;
}

Result<BranchCreated> create_project(Context& ctx, const std::string& name,
                                     std::optional<int> pg_version, const FillCluster& fill,
                                     const InitCluster& init) {
  auto started = std::chrono::steady_clock::now();
  TRY(validate_name("project", name));
  TRY_ASSIGN(int version, choose_version(ctx, pg_version));
  TRY(require_free_space(ctx, "project '" + name + "'"));
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "project.create", name, name));
  TRY_ASSIGN(std::string password, generate_password());
  std::string now = ctx.clock.now_iso8601();
  BranchRecord main{name, "main", std::nullopt, 0, BranchState::Creating, name + "/main", now, version};
  TRY_ASSIGN(auto existing, ctx.store.project(name));
  if (existing) return fail(ErrorKind::Conflict, fmt::format("project '{}' already exists", name));
  if (ctx.storage.exists(name))
    return fail(ErrorKind::Conflict,
                fmt::format("project '{}': {} already exists but pgd has no record of it; run "
                            "'pgd doctor'", name, ctx.storage.path(name)));
  TRY_ASSIGN(main, ctx.store.insert_project(ProjectRecord{name, version, now}, main, ctx.port_free));
  // From here on records exist: failure must remove everything.
  ScopeGuard undo([&] { undo_create(ctx, main); });
  TRY(op.step("recorded"));
  BranchCreated out;
  TRY(save_password(ctx.files, ctx.paths, name, password));
  TRY(timed(ctx, out.timings, main.full_name(), "certificates",
            [&] { return ensure_certificates(ctx, name); }));
  Instance in = instance_for(ctx, main);  // with the TLS settings just made possible
  TRY(timed(ctx, out.timings, main.full_name(), "create volume",
            [&] { return ctx.storage.create_volume(main.volume); }));
  TRY(op.step("volume-created"));
  TRY(timed(ctx, out.timings, main.full_name(), init ? "base backup" : "initdb", [&]() -> Status {
    TRY(prepare_archive(ctx, main, FreshArchive::Yes));
    return init ? init(main, in, op) : ctx.postgres.init_cluster(in, password);
  }));
  TRY(op.step("initialized"));
  if (fill) {
    TRY(fill(main, in, password, op));
    TRY(op.step("filled"));
  }
  // The recoverable window starts here: the new cluster, before its first start.
  TRY(take_base(ctx, out.timings, main, ClonePoints{}));
  TRY(timed(ctx, out.timings, main.full_name(), "start", [&] { return ctx.postgres.start(in); }));
  TRY(op.step("started"));
  TRY(finish_created(ctx, main, out, started));
  undo.dismiss();
  return out;
}

Status delete_project(Context& ctx, const std::string& name, Force force) {
  TRY(validate_name("project", name));
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "project.delete", name, name));
  TRY(require_project(ctx, name));
  TRY_ASSIGN(auto all, ctx.store.branches(name));
  for (const auto& b : all) TRY(require_unprotected(b, "delete of project " + name));
  if (all.size() > 1 && force == Force::No)
    return fail(ErrorKind::Conflict,
                fmt::format("project '{}' has {} branches besides main; use --force to delete "
                            "them all", name, all.size() - 1));
  op.finish_regardless();  // once begun, a deletion finishes
  auto order = descendants(all, "main");
  for (const auto& b : all)
    if (!b.parent) order.push_back(b);
  for (const auto& b : order) {
    if (auto st = destroy_branch(ctx, b, &op); !st)
      return fail(st.error().wrap(fmt::format("delete project '{}'", name)));
  }
  TRY(op.step("branches-deleted"));
  TRY_ASSIGN(ProjectRecord project, require_project(ctx, name));
  warn_if_failed(ctx, drop_owned_slot(ctx, project),
                 fmt::format("dropping the replication slot '{}' of project '{}' on its primary (drop "
                             "it there: SELECT pg_drop_replication_slot('{}'))",
                             project.slot.value_or(""), name, project.slot.value_or("")));
  TRY(ctx.storage.destroy(name));
  TRY(remove_project_files(ctx, name));
  return ctx.store.delete_project(name);
}

}  // namespace pgd
