// Housekeeping of branches and projects: expiry (TTL), idle stop, protection
// and per-project schedules. `pgd branch set` and `pgd project set` record
// them; `pgd serve` carries them out (serve/daemon.h).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/names.h"
#include "base/result.h"
#include "core/context.h"

namespace pgd {

// A branch other than main stops after 10 minutes without a client unless its
// project or the branch says otherwise; main never does unless it says so.
inline constexpr int64_t k_default_idle_stop_s = 600;

// Seconds a branch may go without a client before `pgd serve` stops it; 0: never.
int64_t effective_idle_stop_s(const ProjectRecord& project, const BranchRecord& branch);

// Fails (Conflict, exit 1) when the branch is protected: `action` is what was
// refused ("delete", "reset").
Status require_unprotected(const BranchRecord& branch, const std::string& action);

// A change of a branch's housekeeping; a field left empty stays as it is.
// ttl_s/idle_stop_s hold an empty optional to remove the setting.
struct BranchChange {
  std::optional<std::optional<int64_t>> ttl_s;        // from now
  std::optional<std::optional<int64_t>> idle_stop_s;  // 0: never
  std::optional<bool> is_protected;
};
Result<BranchRecord> change_branch(Context& ctx, const BranchRef& ref, const BranchChange& change);

struct ProjectChange {
  std::optional<std::optional<int64_t>> idle_stop_s, snapshot_every_s, keep_snapshots_s, keep_wal_s;
};
Result<ProjectRecord> change_project(Context& ctx, const std::string& name, const ProjectChange& change);

// Which expired branches to delete now: every branch past its expiry whose
// descendants are all past theirs too and none of them protected, children
// first. `kept` names the others with the reason.
struct ExpiryPlan {
  std::vector<BranchRecord> remove;
  std::vector<std::pair<BranchRecord, std::string>> kept;
};
ExpiryPlan plan_expiry(const std::vector<BranchRecord>& all, int64_t now_us);
// Deletes what plan_expiry chose (each under the project's lock, read anew).
// Returns the names deleted; a failure of one is reported and the others go on.
struct ExpiryRun {
  std::vector<std::string> deleted;
  std::vector<std::string> kept;    // "p/b: why", as plan_expiry says
  std::vector<std::string> errors;
};
ExpiryRun expire_branches(Context& ctx);

// One pass of a project's schedule, in this order: a snapshot of each running
// branch whose newest snapshot is older than snapshot_every (labelled
// sched-<time>), then snapshots older than keep_snapshots deleted, then
// archived WAL older than keep_wal that no kept snapshot needs. The window of
// PITR thus reaches back keep_snapshots (at least since the policy began).
struct ScheduleRun {
  std::vector<std::string> snapshots;  // ids taken
  size_t snapshots_deleted = 0;
  uint64_t wal_bytes_deleted = 0;
  std::vector<std::string> errors;
};
ScheduleRun run_schedule(Context& ctx, const ProjectRecord& project);

}  // namespace pgd
