#include "core/branches.h"

#include <fmt/format.h>

#include "base/scope_guard.h"
#include "core/clone.h"
#include "core/follow.h"
#include "core/housekeeping.h"
#include "core/operation.h"
#include "core/projects.h"
#include "core/secrets.h"
#include "core/snapshots.h"
#include "core/tls.h"
#include "core/wal_ops.h"
#include "state/port_allocator.h"

namespace pgd {

namespace {

std::vector<std::pair<std::string, std::string>> with_tls(
    std::vector<std::pair<std::string, std::string>> settings, os::Files& files,
    const Paths& paths, const std::string& project) {
  auto tls = tls_settings(files, paths, project);
  settings.insert(settings.end(), tls.begin(), tls.end());
  return settings;
}

}  // namespace

Instance instance_for(const Context& ctx, const BranchRecord& b) {
  return Instance{b.full_name(),
                  ctx.storage.path(b.volume),
                  b.pg_version,
                  b.port,
                  ctx.daemon_serving && ctx.daemon_serving() ? private_port(b.port) : 0,
                  ctx.paths.socket_dir(b.port),
                  ctx.paths.log_file(b.project, b.name),
                  with_tls(archive_settings(ctx.paths, b), ctx.files, ctx.paths, b.project)};
}

void warn_if_failed(Context& ctx, const Status& status, const std::string& what) {
  if (!status) ctx.warnings.push_back(fmt::format("{} failed: {}", what, status.error().message));
}

Status require_free_space(Context& ctx, const std::string& subject) {
  constexpr uint64_t k_min_free = 64ULL << 20;
  TRY_ASSIGN(uint64_t free, ctx.storage.free_bytes());
  if (free >= k_min_free) return {};
  return fail(fmt::format("{}: the pool {} is full ({} free, {} needed): delete branches or "
                          "snapshots you no longer need (pgd status shows them), or grow the pool",
                          subject, ctx.storage.root(), format_bytes(free), format_bytes(k_min_free)));
}

std::optional<uint64_t> meminfo_available_bytes(const std::string& meminfo) {
  auto at = meminfo.find("MemAvailable:");
  if (at == std::string::npos) return std::nullopt;
  uint64_t kib = 0;
  bool digits = false;
  for (size_t i = at + 13; i < meminfo.size() && meminfo[i] != '\n'; ++i) {
    if (meminfo[i] == ' ') continue;
    if (meminfo[i] < '0' || meminfo[i] > '9') break;
    kib = kib * 10 + static_cast<uint64_t>(meminfo[i] - '0');
    digits = true;
  }
  return digits ? std::optional<uint64_t>(kib * 1024) : std::nullopt;
}

Status require_memory(Context& ctx, const std::string& subject) {
  auto meminfo = ctx.files.read("/proc/meminfo");
  if (!meminfo) return {};
  auto available = meminfo_available_bytes(*meminfo);
  if (!available || *available >= k_min_available_memory) return {};
  return fail(ErrorKind::Conflict,
              fmt::format("{}: only {} of memory is available, too little to start another server; stop "
                          "branches you do not use (pgd stop), or let pgd serve put idle ones to sleep",
                          subject, format_bytes(*available)));
}

std::string to_string(LiveStatus status) {
  switch (status) {
    case LiveStatus::Running: return "running";
    case LiveStatus::Stopped: return "stopped";
    case LiveStatus::Failed: return "failed";
    case LiveStatus::Creating: return "creating";
    case LiveStatus::Sleeping: return "sleeping";
  }
  return "unknown";
}

LiveStatus live_status(Context& ctx, const BranchRecord& b) {
  if (b.state == BranchState::Creating) return LiveStatus::Creating;
  bool up = ctx.postgres.running_pid(instance_for(ctx, b)).has_value();
  if (up) return LiveStatus::Running;
  if (b.state == BranchState::Sleeping) return LiveStatus::Sleeping;
  return b.state == BranchState::Running ? LiveStatus::Failed : LiveStatus::Stopped;
}

Result<BranchRecord> require_branch(Context& ctx, const BranchRef& ref) {
  TRY(require_project(ctx, ref.project));
  TRY_ASSIGN(auto branch, ctx.store.branch(ref.project, ref.branch));
  if (!branch)
    return fail(ErrorKind::NotFound,
                fmt::format("branch '{}' does not exist (see 'pgd branch list {}')", ref.full(),
                            ref.project));
  return *branch;
}

std::vector<BranchRecord> descendants(const std::vector<BranchRecord>& all, const std::string& name) {
  std::vector<BranchRecord> out;
  for (const auto& b : all) {
    if (b.parent != name) continue;
    for (auto& d : descendants(all, b.name)) out.push_back(std::move(d));
    out.push_back(b);
  }
  return out;
}

namespace {

// Starts the configured clone and takes the start of its recoverable window:
// its data as it is at its first start, with its WAL archived into its own
// archive from there on. On btrfs the base is an atomic snapshot taken while
// the postmaster starts up, so it costs no time of its own (measured: +3.6 ms
// per branch when taken before the start); a file-by-file clone (XFS) must be
// taken before the start.
Status start_with_base(Context& ctx, Timings& t, const BranchRecord& branch, const Instance& in,
                       ClonePoints points, Operation& op) {
  if (points.redo_lsn.empty()) {  // a stopped source
    TRY_ASSIGN(points, last_checkpoint(ctx, in));
  }
  TRY(own_wal_history(ctx, in.data_dir, points.redo_lsn));
  Status base;
  Timings base_timing;  // folded into "start" when it overlaps it
  auto take = [&] { base = take_base(ctx, base_timing, branch, points).map([](const SnapshotRecord&) {}); };
  bool overlap = ctx.storage.atomic_clone();
  if (!overlap) {
    take();
    TRY(base);
    t.insert(t.end(), base_timing.begin(), base_timing.end());
  }
  // Postgres takes ~45 ms to start, mostly waiting on its own fsyncs: pgd's
  // work that does not need the server runs meanwhile instead of after it.
  auto meanwhile = [&] {
    if (overlap) take();
    if (ctx.while_starting) ctx.while_starting();
  };
  TRY(timed(ctx, t, branch.full_name(), "start", [&] { return ctx.postgres.start(in, {}, meanwhile); }));
  TRY(base);
  return op.step("started");
}

// Clones `source` into `volume`, makes it `branch`'s and starts it.
Status clone_and_start(Context& ctx, Timings& t, const BranchRecord& source,
                       const BranchRecord& branch, const std::string& volume, Operation& op) {
  std::string subject = branch.full_name();
  TRY_ASSIGN(ClonePoints points, clone_branch_data(ctx, t, subject, source, volume, Access::ReadWrite, op));
  // From here on the clone exists: the caller's guard destroys it on failure.
  BranchRecord at_volume = branch;
  at_volume.volume = volume;
  Instance in = instance_for(ctx, at_volume);
  TRY(timed(ctx, t, subject, "configure", [&]() -> Status {
    TRY(prepare_archive(ctx, branch, FreshArchive::Yes));  // its WAL history starts here
    return ctx.postgres.prepare_clone(in, Recovery::No);
  }));
  TRY(op.step("configured"));
  // A file-by-file clone (XFS) kept the lock until here (see create_branch).
  if (!is_following_main(ctx, source)) op.release_project_lock();
  TRY(start_with_base(ctx, t, at_volume, in, points, op));
  // A clone of a following main: the same crash recovery, then it is the project's.
  if (is_following_main(ctx, source)) TRY(adopt_standby_clone(ctx, t, at_volume, in, points));
  return {};
}

}  // namespace

Result<BranchRecord> resolve_source(Context& ctx, const BranchRef& target,
                                    const std::optional<BranchRef>& from) {
  BranchRef source = from.value_or(BranchRef{target.project, "main"});
  if (source.project != target.project)
    return fail(ErrorKind::Usage,
                fmt::format("branch '{}': --from {} is in another project; branches are made "
                            "within one project",
                            target.full(), source.full()));
  TRY_ASSIGN(BranchRecord record, require_branch(ctx, source));
  if (record.state == BranchState::Creating)
    return fail(ErrorKind::Conflict,
                fmt::format("branch '{}' is still being created; try again", source.full()));
  return record;
}

Result<BranchRecord> reserve_branch(Context& ctx, BranchRecord branch) {
  TRY_ASSIGN(branch, ctx.store.reserve_branch(branch, ctx.port_free));
  if (ctx.storage.exists(branch.volume)) {  // not ours: never destroy it
    warn_if_failed(ctx, ctx.store.delete_branch(branch.project, branch.name),
                   fmt::format("removing the record of branch '{}'", branch.full_name()));
    return fail(ErrorKind::Conflict,
                fmt::format("branch '{}': {} already exists but pgd has no record of it; "
                            "run 'pgd doctor'", branch.full_name(), ctx.storage.path(branch.volume)));
  }
  return branch;
}

Result<BranchCreated> create_branch(Context& ctx, const BranchRef& target,
                                    const std::optional<BranchRef>& from) {
  auto started = std::chrono::steady_clock::now();
  TRY(require_free_space(ctx, "branch '" + target.full() + "'"));
  TRY(require_memory(ctx, "branch '" + target.full() + "'"));
  TRY_ASSIGN(Operation op, Operation::begin_create(ctx, "branch.create", target.project, target.full()));
  TRY_ASSIGN(BranchRecord source, resolve_source(ctx, target, from));
  TRY(ensure_certificates(ctx, target.project));  // the project's own files: made once, under its lock
  // From here a create touches only its own branch (the name and port are
  // reserved in one SQLite transaction; checkpoints and atomic snapshots of
  // one source may run side by side), so the next create goes on at once.
  // Not so for a file-by-file clone inside pg_backup_start/stop: another
  // backup's checkpoint may recycle WAL this one needs, so it keeps the lock
  // until its clone is configured. A following main's clone becomes the
  // project's (adopt_standby_clone): it keeps the lock throughout.
  if (ctx.storage.atomic_clone() && !is_following_main(ctx, source)) op.release_project_lock();

  TRY_ASSIGN(BranchRecord branch, reserve_new_branch(ctx, target, source, op));
  ScopeGuard undo([&] { undo_branch(ctx, branch); });
  BranchCreated out;
  // Each error names its own object (the branch's server, a volume's path).
  TRY(clone_and_start(ctx, out.timings, source, branch, branch.volume, op));
  TRY(finish_created(ctx, branch, out, started));
  undo.dismiss();
  return out;
}

Result<BranchRecord> reserve_new_branch(Context& ctx, const BranchRef& target,
                                        const BranchRecord& source, Operation& op) {
  // Name and port are reserved atomically: concurrent creates cannot collide.
  BranchRecord branch{target.project, target.branch, source.name, 0, BranchState::Creating,
                      target.full(), ctx.clock.now_iso8601(), source.pg_version};
  TRY_ASSIGN(branch, reserve_branch(ctx, branch));
  ScopeGuard undo([&] { undo_branch(ctx, branch); });
  TRY(op.step("reserved"));
  undo.dismiss();
  return branch;
}

Status finish_created(Context& ctx, BranchRecord& branch, BranchCreated& out,
                      std::chrono::steady_clock::time_point started) {
  TRY(ctx.store.set_branch_state(branch.project, branch.name, BranchState::Running));
  branch.state = BranchState::Running;
  // What a step recorded meanwhile (the moment of production a clone holds).
  if (auto stored = ctx.store.branch(branch.project, branch.name); stored && *stored)
    branch.as_of = (*stored)->as_of;
  out.branch = branch;
  out.total_ms = os::elapsed_ms(started);
  return {};
}

Status destroy_branch(Context& ctx, const BranchRecord& b, Operation* op) {
  auto step = [&](const char* name) { return op ? op->step(name) : Status{}; };
  Instance in = instance_for(ctx, b);
  TRY(ctx.postgres.stop(in, StopMode::Immediate));  // its data is about to go: no checkpoint
  TRY(step("stopped"));
  TRY_ASSIGN(auto snapshots, ctx.store.snapshots(b.project, b.name));
  for (const auto& s : snapshots) TRY(destroy_snapshot(ctx, s));
  TRY(step("snapshots-deleted"));
  TRY(ctx.storage.destroy(b.volume));
  TRY(step("volume-destroyed"));
  TRY(ctx.files.remove_tree(ctx.paths.wal_dir(b.project, b.name)));
  TRY(ctx.files.remove_file(in.log_path));
  TRY(ctx.files.remove_tree(in.socket_dir));
  return ctx.store.delete_branch(b.project, b.name);
}

void undo_branch(Context& ctx, const BranchRecord& b) {
  os::DeferInterrupts finish_the_undo;
  warn_if_failed(ctx, destroy_branch(ctx, b),
                 fmt::format("removing the half-made branch '{}' (pgd doctor --fix finishes it)",
                             b.full_name()));
}

Status delete_branch(Context& ctx, const BranchRef& ref, Force force) {
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "branch.delete", ref.project, ref.full()));
  TRY_ASSIGN(BranchRecord branch, require_branch(ctx, ref));
  if (!branch.parent)
    return fail(ErrorKind::Conflict,
                fmt::format("branch '{}' is the project's main branch; to delete it, delete the "
                            "project: pgd project delete {} --force",
                            ref.full(), ref.project));
  TRY(require_unprotected(branch, "delete"));
  TRY_ASSIGN(auto all, ctx.store.branches(ref.project));
  auto children = descendants(all, branch.name);
  for (const auto& c : children) TRY(require_unprotected(c, "delete of " + ref.full() + " and its branches"));
  if (!children.empty() && force == Force::No) {
    std::string names;
    for (const auto& c : children) names += (names.empty() ? "" : ", ") + c.full_name();
    return fail(ErrorKind::Conflict,
                fmt::format("branch '{}' has branches made from it ({}); delete them first or use "
                            "--force to delete them too",
                            ref.full(), names));
  }
  children.push_back(branch);
  // The user asked for the data to go: once begun, a deletion finishes.
  op.finish_regardless();
  for (const auto& b : children) {
    if (auto st = destroy_branch(ctx, b, &op); !st)
      return fail(st.error().wrap(fmt::format("delete branch '{}'", b.full_name())));
  }
  return {};
}

Result<BranchCreated> reset_branch(Context& ctx, const BranchRef& ref, Force force) {
  auto started = std::chrono::steady_clock::now();
  TRY(require_free_space(ctx, "branch '" + ref.full() + "'"));
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "branch.reset", ref.project, ref.full()));
  TRY_ASSIGN(BranchRecord branch, require_branch(ctx, ref));
  if (!branch.parent)
    return fail(ErrorKind::Conflict,
                fmt::format("branch '{}' is the main branch and has no parent to reset from",
                            ref.full()));
  TRY(require_unprotected(branch, "reset"));
  TRY_ASSIGN(BranchRecord parent, require_branch(ctx, BranchRef{ref.project, *branch.parent}));
  TRY_ASSIGN(auto snapshots, ctx.store.snapshots(branch.project, branch.name));
  auto taken = std::count_if(snapshots.begin(), snapshots.end(),
                             [](const SnapshotRecord& s) { return s.kind == SnapshotKind::Manual; });
  if (taken > 0 && force == Force::No)
    return fail(ErrorKind::Conflict,
                fmt::format("branch '{}' has {} snapshot(s); a reset starts its WAL history anew, "
                            "so they would be deleted: use --force, or delete them first",
                            ref.full(), taken));
  BranchCreated out;
  std::string subject = branch.full_name();
  // Clone the parent beside the branch first: until the swap, a failure leaves
  // the branch as it was. '.' never appears in a branch name, so no collision.
  std::string fresh = branch.volume + ".reset";
  TRY(ctx.storage.destroy(fresh));
  TRY_ASSIGN(ClonePoints points,
             clone_branch_data(ctx, out.timings, subject, parent, fresh, Access::ReadWrite, op));
  ScopeGuard drop_fresh([&] {
    warn_if_failed(ctx, ctx.storage.destroy(fresh), "removing the unused clone " + ctx.storage.path(fresh));
  });
  TRY(ensure_certificates(ctx, branch.project));
  Instance in = instance_for(ctx, branch);
  // Its data is replaced next: an immediate stop skips a useless shutdown checkpoint.
  bool was_running = ctx.postgres.running_pid(in).has_value();
  TRY(timed(ctx, out.timings, subject, "stop",
            [&] { return ctx.postgres.stop(in, StopMode::Immediate); }));
  // Until the swap the branch is as it was: a failure starts it again.
  ScopeGuard restart([&] {
    os::DeferInterrupts finish_the_undo;  // the restart waits until the branch is ready
    if (was_running)
      warn_if_failed(ctx, ctx.postgres.start(in).map([](pid_t) {}), "restarting branch '" + subject + "'");
  });
  TRY(op.step("stopped"));
  TRY(timed(ctx, out.timings, subject, "swap", [&]() -> Status {
    TRY(ctx.storage.destroy(branch.volume));
    return ctx.storage.rename(fresh, branch.volume);
  }));
  drop_fresh.dismiss();
  restart.dismiss();
  // From here the branch holds the parent's data; it only needs its own settings
  // (doctor --fix rolls an interrupted reset forward from this step), and a
  // signal no longer stops the reset.
  op.finish_regardless();
  TRY(op.step("swapped"));
  for (const auto& s : snapshots) TRY(destroy_snapshot(ctx, s));
  TRY(timed(ctx, out.timings, subject, "configure", [&]() -> Status {
    TRY(prepare_archive(ctx, branch, FreshArchive::Yes));
    return ctx.postgres.prepare_clone(in, Recovery::No);
  }));
  TRY(op.step("configured"));
  TRY(start_with_base(ctx, out.timings, branch, in, points, op));
  if (is_following_main(ctx, parent)) TRY(adopt_standby_clone(ctx, out.timings, branch, in, points));
  TRY(finish_created(ctx, branch, out, started));
  return out;
}

Status start_server(Context& ctx, const BranchRecord& b) {
  TRY(ensure_certificates(ctx, b.project));
  Instance in = instance_for(ctx, b);
  if (ctx.postgres.running_pid(in)) return {};
  // Settings follow this pgd's defaults (and the branch's name) at every start.
  TRY(prepare_archive(ctx, b, FreshArchive::No));
  TRY(ctx.postgres.configure(in));
  return ctx.postgres.start(in).map([](pid_t) {});
}

Status start_branch(Context& ctx, const BranchRecord& b) {
  TRY_ASSIGN(auto lock, lock_project(ctx, b.project));
  if (b.state == BranchState::Creating)
    return fail(ErrorKind::Conflict, fmt::format("branch '{}' is still being created", b.full_name()));
  TRY(start_server(ctx, b));
  return ctx.store.set_branch_state(b.project, b.name, BranchState::Running);
}

Status stop_branch(Context& ctx, const BranchRecord& b) {
  TRY_ASSIGN(auto lock, lock_project(ctx, b.project));
  if (b.state == BranchState::Creating)
    return fail(ErrorKind::Conflict, fmt::format("branch '{}' is still being created", b.full_name()));
  TRY(ctx.postgres.stop(instance_for(ctx, b)));
  return ctx.store.set_branch_state(b.project, b.name, BranchState::Stopped);
}

}  // namespace pgd
