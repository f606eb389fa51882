#include "core/snapshots.h"

#include <fmt/format.h>

#include "base/scope_guard.h"
#include "core/clone.h"
#include "base/time_format.h"
#include "core/branches.h"
#include "core/follow.h"
#include "core/operation.h"
#include "core/secrets.h"
#include "os/random.h"
#include "wal/wal_names.h"

namespace pgd {
namespace {

// "20261124-183000-7f3a": sortable, readable, unique enough with the random tail.
std::string new_snapshot_id(int64_t now_us) {
  std::string iso = format_iso8601_ms(now_us);  // 2026-11-24T18:30:00.123Z
  // The tail only separates two snapshots of one second; a failed read leaves 0.
  auto random = os::random_bytes(2);
  uint16_t tail = random ? static_cast<uint16_t>(static_cast<unsigned char>((*random)[0]) << 8 |
                                                 static_cast<unsigned char>((*random)[1]))
                         : 0;
  return fmt::format("{}{}{}-{}{}{}-{:04x}", iso.substr(0, 4), iso.substr(5, 2), iso.substr(8, 2),
                     iso.substr(11, 2), iso.substr(14, 2), iso.substr(17, 2), tail);
}

}  // namespace

Result<SnapshotCreated> create_snapshot(Context& ctx, const BranchRef& ref,
                                        const std::optional<std::string>& label) {
  if (label) TRY(validate_name("snapshot label", *label));
  TRY(require_free_space(ctx, "snapshot of '" + ref.full() + "'"));
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "snapshot.create", ref.project, ref.full()));
  return take_snapshot(ctx, op, ref, label);
}

Result<SnapshotCreated> take_snapshot(Context& ctx, Operation& op, const BranchRef& ref,
                                      const std::optional<std::string>& label) {
  auto started = std::chrono::steady_clock::now();
  TRY_ASSIGN(BranchRecord b, require_branch(ctx, ref));
  if (b.state == BranchState::Creating)
    return fail(ErrorKind::Conflict, fmt::format("branch '{}' is still being created", ref.full()));
  if (label) {
    TRY_ASSIGN(auto existing, ctx.store.snapshots(b.project, b.name));
    for (const auto& s : existing)
      if (s.label == label)
        return fail(ErrorKind::Conflict, fmt::format("branch '{}' already has a snapshot labelled "
                                                     "'{}' ({})", ref.full(), *label, s.id));
  }
  SnapshotCreated out;
  SnapshotRecord& snap = out.snapshot;
  snap.id = new_snapshot_id(ctx.clock.now_us());
  snap.project = b.project;
  snap.branch = b.name;
  snap.label = label;
  snap.volume = b.volume + "@" + snap.id;
  bool running = ctx.postgres.running_pid(instance_for(ctx, b)).has_value();
  std::string subject = ref.full();
  TRY_ASSIGN(ClonePoints points, clone_branch_data(ctx, out.timings, subject, b, snap.volume,
                                                   Access::ReadOnly, op));
  ScopeGuard undo([&] { destroy_clone(ctx, snap.volume); });
  // Read after the snapshot (time rounded up to the millisecond): both bound
  // every commit the snapshot holds, which is what choosing a PITR base needs.
  snap.created_us = (ctx.clock.now_us() + 999) / 1000 * 1000;
  if (running) {
    snap.redo_lsn = points.redo_lsn;
    snap.lsn = points.end_lsn;
  } else {
    TRY_ASSIGN(ClonePoints last, last_checkpoint(ctx, instance_for(ctx, b)));
    snap.redo_lsn = last.redo_lsn;
    snap.lsn = last.end_lsn;
  }
  if (auto usage = ctx.storage.usage(snap.volume)) snap.size_bytes = usage->total_bytes;
  TRY(ctx.store.insert_snapshot(snap));
  undo.dismiss();
  out.total_ms = os::elapsed_ms(started);
  return out;
}

namespace {

SnapshotRecord new_base(Context& ctx, const BranchRecord& b) {
  SnapshotRecord snap;
  snap.id = new_snapshot_id(ctx.clock.now_us());
  snap.project = b.project;
  snap.branch = b.name;
  snap.kind = SnapshotKind::Base;
  snap.volume = b.volume + "@" + snap.id;
  return snap;
}

// Records the snapshot whose volume exists; if that fails, the volume goes too.
Result<SnapshotRecord> record_base(Context& ctx, SnapshotRecord snap) {
  ScopeGuard undo([&] { destroy_clone(ctx, snap.volume); });
  // Read after the snapshot: it bounds every commit the base holds.
  snap.created_us = (ctx.clock.now_us() + 999) / 1000 * 1000;
  TRY(ctx.store.insert_snapshot(snap));
  undo.dismiss();
  return snap;
}

}  // namespace

Result<SnapshotRecord> take_base(Context& ctx, Timings& timings, const BranchRecord& b,
                                 const ClonePoints& points) {
  SnapshotRecord snap = new_base(ctx, b);
  ClonePoints bounds = points;
  if (bounds.redo_lsn.empty()) {  // a stopped source's clone, or a new cluster
    TRY_ASSIGN(bounds, last_checkpoint(ctx, instance_for(ctx, b)));
  }
  snap.redo_lsn = bounds.redo_lsn;
  snap.lsn = bounds.end_lsn;
  TRY(timed(ctx, timings, b.full_name(), "base",
            [&] { return ctx.storage.clone(b.volume, snap.volume, Access::ReadOnly); }));
  return record_base(ctx, snap);
}

Result<SnapshotRecord> take_running_base(Context& ctx, Timings& timings,
                                         const BranchRecord& b, Operation& op) {
  SnapshotRecord snap = new_base(ctx, b);
  TRY_ASSIGN(ClonePoints points, clone_branch_data(ctx, timings, b.full_name(), b, snap.volume,
                                                   Access::ReadOnly, op));
  snap.redo_lsn = points.redo_lsn;
  snap.lsn = points.end_lsn;
  return record_base(ctx, snap);
}

std::vector<SnapshotRecord> replayable(const std::vector<SnapshotRecord>& snapshots) {
  size_t first = 0;
  for (size_t i = 0; i < snapshots.size(); ++i)
    if (snapshots[i].kind == SnapshotKind::Base) first = i;
  return {snapshots.begin() + static_cast<std::ptrdiff_t>(first), snapshots.end()};
}

Result<SnapshotRecord> find_snapshot(Context& ctx, const std::string& id_or_label) {
  TRY_ASSIGN(auto all, ctx.store.snapshots());
  std::vector<SnapshotRecord> by_label;
  for (const auto& s : all) {
    if (s.id == id_or_label) return s;
    if (s.label == id_or_label) by_label.push_back(s);
  }
  if (by_label.size() == 1) return by_label.front();
  if (by_label.empty())
    return fail(ErrorKind::NotFound,
                fmt::format("no snapshot has id or label '{}' (see 'pgd snapshot list')", id_or_label));
  std::string ids;
  for (const auto& s : by_label) ids += fmt::format("{}{} ({})", ids.empty() ? "" : ", ", s.id, s.branch_name());
  return fail(ErrorKind::Usage,
              fmt::format("label '{}' names snapshots of several branches: {}; give the id",
                          id_or_label, ids));
}

Status destroy_snapshot(Context& ctx, const SnapshotRecord& s) {
  TRY(ctx.storage.destroy(s.volume));
  return ctx.store.delete_snapshot(s.id);
}

Status delete_snapshot(Context& ctx, const SnapshotRecord& s) {
  TRY_ASSIGN(Operation op, Operation::begin(ctx, "snapshot.delete", s.project, s.volume));
  op.finish_regardless();
  TRY(ctx.storage.destroy(s.volume));
  TRY(op.step("volume-destroyed"));
  return ctx.store.delete_snapshot(s.id);
}

namespace {

// Whether a snapshot of `base`'s branch newer than the cutoff stays: then the
// base is no longer the start of that branch's window.
bool has_newer_kept(const std::vector<SnapshotRecord>& all, const SnapshotRecord& base, int64_t cutoff) {
  for (const auto& s : all)
    if (s.project == base.project && s.branch == base.branch && s.created_us >= cutoff) return true;
  return false;
}

}  // namespace

Result<std::vector<SnapshotRecord>> cleanup_snapshots(Context& ctx,
                                                      const std::optional<BranchRef>& branch,
                                                      int64_t max_age_s, DryRun dry_run) {
  std::vector<SnapshotRecord> candidates;
  if (branch) {
    TRY(require_branch(ctx, *branch));
    TRY_ASSIGN(candidates, ctx.store.snapshots(branch->project, branch->branch));
  } else {
    TRY_ASSIGN(candidates, ctx.store.snapshots());
  }
  int64_t cutoff = ctx.clock.now_us() - max_age_s * 1'000'000;
  std::vector<SnapshotRecord> old;
  for (const auto& s : candidates) {
    if (s.created_us >= cutoff) continue;
    if (s.kind == SnapshotKind::Base && !has_newer_kept(candidates, s, cutoff)) continue;
    if (dry_run == DryRun::No) TRY(delete_snapshot(ctx, s));
    old.push_back(s);
  }
  return old;
}

std::string timed_label(const std::string& prefix, int64_t now_us) {
  std::string iso = format_iso8601_ms(now_us);  // 2026-12-07T05:10:00.123Z
  return fmt::format("{}-{}{}{}-{}{}{}", prefix, iso.substr(0, 4), iso.substr(5, 2), iso.substr(8, 2),
                     iso.substr(11, 2), iso.substr(14, 2), iso.substr(17, 2));
}

namespace {

// Where a running branch's WAL is now: written, or on a standby replayed.
constexpr char k_wal_position_sql[] =
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS wal_position";

// The WAL a PITR of `b` would replay past its newest replayable snapshot's
// start; nullopt when it has none (then any snapshot shortens replays).
Result<std::optional<uint64_t>> wal_since_snapshot(Context& ctx, const BranchRecord& b) {
  TRY_ASSIGN(auto snaps, ctx.store.snapshots(b.project, b.name));
  snaps = replayable(snaps);
  if (snaps.empty()) return std::optional<uint64_t>{};
  auto redo = wal::parse_lsn(snaps.back().redo_lsn);
  if (!redo) return std::optional<uint64_t>{};
  TRY_ASSIGN(std::string password, session_password(ctx, b));
  TRY_ASSIGN(auto rows, ctx.postgres.query(instance_for(ctx, b), password, k_wal_position_sql));
  TRY_ASSIGN(auto row, pg::first_row(rows, 1, k_wal_position_sql));
  auto now = wal::parse_lsn(row[0]);
  if (!now) return fail(fmt::format("branch '{}': unexpected WAL position '{}'", b.full_name(), row[0]));
  return std::optional<uint64_t>(*now > *redo ? *now - *redo : 0);
}

}  // namespace

Result<std::vector<AutoSnapshot>> auto_snapshots(Context& ctx, uint64_t max_replay) {
  TRY_ASSIGN(auto branches, ctx.store.branches());
  std::vector<AutoSnapshot> out;
  for (const auto& b : branches) {
    if (b.state != BranchState::Running || !ctx.postgres.running_pid(instance_for(ctx, b))) continue;
    AutoSnapshot a{b.full_name(), 0, std::nullopt, ""};
    auto since = wal_since_snapshot(ctx, b);
    if (!since) {
      a.error = since.error().message;
    } else {
      a.wal_bytes = since->value_or(0);
      if (!*since || **since >= max_replay) {
        auto taken = create_snapshot(ctx, BranchRef{b.project, b.name}, timed_label("auto", ctx.clock.now_us()));
        if (taken) a.taken = taken->snapshot;
        else a.error = taken.error().message;
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace pgd
