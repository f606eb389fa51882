// Snapshot use cases: application-consistent, read-only copies of a branch
// that PITR replays WAL onto.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/names.h"
#include "core/clone.h"
#include "core/context.h"
#include "core/wal_ops.h"

namespace pgd {

struct SnapshotCreated {
  SnapshotRecord snapshot;
  Timings timings;
  double total_ms = 0;
};

// A read-only clone of the branch (core/clone.h: every commit before the
// command is in it), with its time and the LSNs that bound it.
Result<SnapshotCreated> create_snapshot(Context& ctx, const BranchRef& ref,
                                        const std::optional<std::string>& label);
// The same inside an Operation that already holds the project (a refresh
// keeps the main it replaces as a snapshot).
Result<SnapshotCreated> take_snapshot(Context& ctx, Operation& op, const BranchRef& ref,
                                      const std::optional<std::string>& label);
// The snapshot with this id, or the one with this label; a label used on
// several branches is a Usage error that lists their ids.
Result<SnapshotRecord> find_snapshot(Context& ctx, const std::string& id_or_label);
Status delete_snapshot(Context& ctx, const SnapshotRecord& snapshot);
// Removes the snapshot's volume and record; no lock (for use inside an Operation).
Status destroy_snapshot(Context& ctx, const SnapshotRecord& snapshot);
// The start of a branch's recoverable window, taken when it is made or reset:
// a read-only snapshot of its data after configuring, before its first start
// (so it costs one more btrfs snapshot, ~3 ms). Its WAL bounds come from
// `points` (a clone of a running source) or from the data's last checkpoint.
// REQUIRES: the branch is not running.
Result<SnapshotRecord> take_base(Context& ctx, Timings& timings, const BranchRecord& branch,
                                 const ClonePoints& points);
// The same for a branch that already runs (a PITR branch after its promotion):
// an online snapshot, as `pgd snapshot create` takes.
Result<SnapshotRecord> take_running_base(Context& ctx, Timings& timings,
                                         const BranchRecord& branch, Operation& op);
// The snapshots (oldest first) that WAL replay can start from: the newest base
// and those after it. A refresh gives main a new cluster and a new WAL
// history; the snapshots before it hold the old one and are used whole.
std::vector<SnapshotRecord> replayable(const std::vector<SnapshotRecord>& snapshots);
// Snapshots older than `max_age_s` seconds of one branch (or all branches); deleted unless
// DryRun. A base goes only when a newer snapshot of its branch stays, so the
// recoverable window moves forward but never vanishes.
Result<std::vector<SnapshotRecord>> cleanup_snapshots(Context& ctx,
                                                      const std::optional<BranchRef>& branch,
                                                      int64_t max_age_s, DryRun dry_run);

// What `pgd snapshot auto` did for one running branch.
struct AutoSnapshot {
  std::string branch;        // "prod/main"
  uint64_t wal_bytes = 0;    // WAL a PITR would replay from its newest snapshot (before this one)
  std::optional<SnapshotRecord> taken;
  std::string error;         // this branch failed; the others went on
};
inline constexpr uint64_t k_default_max_replay = 1ULL << 30;
// For every running branch whose WAL since the start of its newest snapshot
// (written, or on a following main replayed) reaches `max_replay` bytes: a
// snapshot labelled auto-<yyyymmdd-hhmmss>, so that a PITR replays at most
// about that much (plus what is written between two runs). Run it every few
// minutes (the pgd-snapshots timer, or cron).
Result<std::vector<AutoSnapshot>> auto_snapshots(Context& ctx, uint64_t max_replay);
// "<prefix>-20261207-051000" for a time in microseconds (UTC).
std::string timed_label(const std::string& prefix, int64_t now_us);

}  // namespace pgd
