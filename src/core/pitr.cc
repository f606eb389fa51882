#include "core/pitr.h"

#include <fmt/format.h>

#include "base/scope_guard.h"
#include "base/time_format.h"
#include "core/follow.h"
#include "core/operation.h"
#include "core/secrets.h"
#include "core/snapshots.h"
#include "core/wal_ops.h"
#include "wal/archive.h"
#include "wal/recovery_target.h"
#include "wal/wal_names.h"

namespace pgd {
namespace {

std::vector<wal::SnapshotPoint> snapshot_points(const std::vector<SnapshotRecord>& snaps) {
  std::vector<wal::SnapshotPoint> out;
  for (const auto& s : snaps)
    out.push_back({s.id, s.label.value_or(""), s.created_us, wal::parse_lsn(s.lsn).value_or(UINT64_MAX)});
  return out;
}

// Without a target, recovery replays all the WAL it can find, then promotes.
std::vector<std::pair<std::string, std::string>> recovery_settings(
    Context& ctx, const BranchRecord& source, const wal::RecoveryTarget* target) {
  std::vector<std::pair<std::string, std::string>> s{
      {"restore_command",
       wal::restore_command(ctx.paths.wal_dir(source.project, source.name),
                            ctx.storage.path(source.volume) + "/pg_wal")},
      {"recovery_target_action", "promote"},
      // With hot standby, PostgreSQL 15 marks postmaster.pid "ready" as soon as
      // read-only connections are allowed, long before the promotion we wait
      // for; nobody should query a half-recovered branch anyway.
      {"hot_standby", "off"},
      {"recovery_target_timeline", "latest"}};
  if (target && target->kind == wal::TargetKind::Time)
    s.emplace_back("recovery_target_time", format_pg_timestamp(target->time_us));
  else if (target)
    s.emplace_back("recovery_target_lsn", wal::format_lsn(target->lsn));
  return s;
}

// The newest "restored log file" line of the log since start-up: replay progress.
std::string last_restored_segment(os::Files& files, const std::string& log_path) {
  auto log = files.read(log_path);
  if (!log) return "";
  auto pos = log->rfind("restored log file \"");
  if (pos == std::string::npos) return "";
  return log->substr(pos + 19, 24);
}

// Where the source's WAL ends now; an LSN target past it is in the future.
// A running source's archive is sealed first, so it covers everything until now.
Status check_end(Context& ctx, BranchCreated& out, const std::string& subject,
                 const BranchRecord& source, bool running, const wal::RecoveryTarget& target) {
  std::string end;
  if (running) {
    TRY_ASSIGN(end, timed(ctx, out.timings, subject, "archive", [&] { return seal_archive(ctx, source); }));
  } else {
    TRY_ASSIGN(auto control, ctx.postgres.control_data(instance_for(ctx, source)));
    end = control["Latest checkpoint location"];
  }
  auto end_lsn = wal::parse_lsn(end);
  if (target.kind == wal::TargetKind::Lsn && end_lsn && target.lsn > *end_lsn)
    return fail(ErrorKind::Usage, fmt::format("recovery target LSN {} is beyond the end of the WAL "
                                              "of '{}' ({})", target.text, source.full_name(), end));
  return {};
}

bool ended_before_target(os::Files& files, const std::string& log_path) {
  auto log = files.read(log_path);
  return log && log->find("recovery ended before configured recovery target was reached") !=
                    std::string::npos;
}

// "; replaying from snapshot S (taken T): N MB of archived WAL ..." — how far
// the target is from its base, for the progress line and the error of a far target.
std::string replay_size_note(Context& ctx, const BranchRecord& source, const SnapshotRecord& base) {
  uint64_t bytes = 0;
  auto redo = wal::parse_lsn(base.redo_lsn);
  if (auto files = ctx.files.list_files(ctx.paths.wal_dir(source.project, source.name)); files && redo)
    for (const auto& f : *files)
      if (auto seg = wal::parse_segment_name(f.name); seg && seg->segno >= wal::segno_of(*redo)) bytes += f.bytes;
  return fmt::format("; replaying from snapshot {} (taken {}): {} of archived WAL (scheduled "
                     "snapshots shorten replays: see 'Scheduled snapshots' in docs/usage.md)",
                     base.id, format_iso8601_ms(base.created_us), format_bytes(bytes));
}

Error explain_failure(Context& ctx, const Error& e, const std::string& subject,
                      const std::string& log_path, const wal::RecoveryTarget& t,
                      const BranchRecord& source) {
  if (ended_before_target(ctx.files, log_path))
    return Error{ErrorKind::Failure,
                 fmt::format("branch '{}': cannot recover to {}: the WAL archived for '{}' ends before it (the "
                             "recoverable window ends at the last archived commit)",
                             subject, t.text, source.full_name())};
  return e;
}

}  // namespace

Result<BranchCreated> create_pitr_branch(Context& ctx, const BranchRef& target_ref,
                                         const std::optional<BranchRef>& from,
                                         const std::string& target_text) {
  auto started = std::chrono::steady_clock::now();
  int64_t now_us = ctx.clock.now_us();
  TRY_ASSIGN(wal::RecoveryTarget target, wal::parse_recovery_target(target_text, now_us));
  TRY(require_free_space(ctx, "branch '" + target_ref.full() + "'"));
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "branch.pitr", target_ref.project, target_ref.full()));
  TRY_ASSIGN(BranchRecord source, resolve_source(ctx, target_ref, from));
  TRY_ASSIGN(auto snaps, ctx.store.snapshots(source.project, source.name));
  // A label names any snapshot; a time or LSN replays WAL of the current cluster.
  if (target.kind != wal::TargetKind::Label) snaps = replayable(snaps);
  TRY_ASSIGN(wal::SnapshotPoint base,
             wal::choose_base(snapshot_points(snaps), target, now_us, source.full_name()));
  const SnapshotRecord* base_snap = nullptr;
  for (const auto& s : snaps)
    if (s.id == base.id) base_snap = &s;

  BranchCreated out;
  std::string subject = target_ref.full();
  bool replay = target.kind != wal::TargetKind::Label;
  bool source_running = ctx.postgres.running_pid(instance_for(ctx, source)).has_value();
  if (replay) TRY(check_end(ctx, out, subject, source, source_running, target));

  TRY_ASSIGN(BranchRecord branch, reserve_new_branch(ctx, target_ref, source, op));
  ScopeGuard undo([&] { undo_branch(ctx, branch); });
  TRY(timed(ctx, out.timings, subject, "snapshot",
            [&] { return ctx.storage.clone(base_snap->volume, branch.volume, Access::ReadWrite); }));
  TRY(op.step("cloned"));
  // From here the clone exists: `undo` destroys it on failure.
  Instance in = instance_for(ctx, branch);
  if (replay) {
    auto extra = recovery_settings(ctx, source, &target);
    in.settings.insert(in.settings.end(), extra.begin(), extra.end());
  }
  TRY(timed(ctx, out.timings, subject, "configure", [&]() -> Status {
    TRY(prepare_archive(ctx, branch, FreshArchive::Yes));
    return ctx.postgres.prepare_clone(in, replay ? Recovery::Yes : Recovery::No);
  }));
  TRY(op.step("configured"));
  if (replay && ctx.progress)
    ctx.progress->phase_note(subject, replay_size_note(ctx, source, *base_snap).substr(2), os::elapsed_ms(started));
  std::string shown;
  auto on_wait = [&] {
    std::string seg = last_restored_segment(ctx.files, in.log_path);
    if (!ctx.progress || seg.empty() || seg == shown) return;
    shown = seg;
    ctx.progress->phase_note(subject, "replayed up to WAL segment " + seg, os::elapsed_ms(started));
  };
  auto st = timed(ctx, out.timings, subject, replay ? "recover" : "start",
                  [&] { return ctx.postgres.start(in, on_wait); });
  if (!st && !source_running && target.kind == wal::TargetKind::Time &&
      ended_before_target(ctx.files, in.log_path)) {
    // A stopped source wrote nothing after its last commit, which came before the
    // target: its state at the target is its final state. Replay to the end.
    in = instance_for(ctx, branch);
    auto to_end = recovery_settings(ctx, source, nullptr);
    in.settings.insert(in.settings.end(), to_end.begin(), to_end.end());
    TRY(ctx.postgres.configure(in));
    st = timed(ctx, out.timings, subject, "recover to end", [&] { return ctx.postgres.start(in, on_wait); });
  }
  if (!st) {
    Error e = explain_failure(ctx, st.error(), subject, in.log_path, target, source);
    if (replay && e.kind != ErrorKind::Interrupted) e.message += replay_size_note(ctx, source, *base_snap);
    return fail(e);
  }
  TRY(op.step("recovered"));
  // Its roles are production's: the project's password, and what it holds.
  if (came_from_primary(ctx, branch.project)) TRY(adopt_promoted_copy(ctx, branch, in));
  // Promoted: recovery settings are ignored from now on; drop them from pgd.conf.
  TRY(ctx.postgres.configure(instance_for(ctx, branch)));
  // Its own recoverable window starts now, on its new timeline.
  TRY(take_running_base(ctx, out.timings, branch, op));
  TRY(finish_created(ctx, branch, out, started));
  undo.dismiss();
  return out;
}

}  // namespace pgd
