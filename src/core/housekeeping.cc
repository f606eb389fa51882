#include "core/housekeeping.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "base/time_format.h"
#include "core/branches.h"
#include "core/operation.h"
#include "core/projects.h"
#include "core/snapshots.h"
#include "core/wal_ops.h"

namespace pgd {

int64_t effective_idle_stop_s(const ProjectRecord& project, const BranchRecord& branch) {
  if (branch.idle_stop_s) return *branch.idle_stop_s;
  if (!branch.parent) return 0;  // main stays up unless told otherwise
  return project.idle_stop_s.value_or(k_default_idle_stop_s);
}

Status require_unprotected(const BranchRecord& b, const std::string& action) {
  if (!b.is_protected) return {};
  return fail(ErrorKind::Conflict,
              fmt::format("branch '{}' is protected: {} refused (pgd branch set {} --no-protected "
                          "lifts it)", b.full_name(), action, b.full_name()));
}

Result<BranchRecord> change_branch(Context& ctx, const BranchRef& ref, const BranchChange& change) {
  TRY_ASSIGN(auto lock, lock_project(ctx, ref.project));
  TRY_ASSIGN(BranchRecord b, require_branch(ctx, ref));
  if (change.ttl_s) {
    if (*change.ttl_s && !b.parent)
      return fail(ErrorKind::Usage, fmt::format("branch '{}' is the project's main branch: it "
                                                "cannot expire (pgd project delete removes it)",
                                                ref.full()));
    b.expires_at.reset();
    if (*change.ttl_s) b.expires_at = format_iso8601_ms(ctx.clock.now_us() + **change.ttl_s * 1'000'000);
  }
  if (change.idle_stop_s) b.idle_stop_s = *change.idle_stop_s;
  if (change.is_protected) b.is_protected = *change.is_protected;
  TRY(ctx.store.set_branch_housekeeping(b));
  return b;
}

Result<ProjectRecord> change_project(Context& ctx, const std::string& name, const ProjectChange& change) {
  TRY(validate_name("project", name));
  TRY_ASSIGN(auto lock, lock_project(ctx, name));
  TRY_ASSIGN(ProjectRecord p, require_project(ctx, name));
  if (change.idle_stop_s) p.idle_stop_s = *change.idle_stop_s;
  if (change.snapshot_every_s) p.snapshot_every_s = *change.snapshot_every_s;
  if (change.keep_snapshots_s) p.keep_snapshots_s = *change.keep_snapshots_s;
  if (change.keep_wal_s) p.keep_wal_s = *change.keep_wal_s;
  TRY(ctx.store.set_project_policies(p));
  return p;
}

namespace {

bool expired(const BranchRecord& b, int64_t now_us) {
  if (!b.expires_at) return false;
  auto at = parse_iso8601_us(*b.expires_at);
  return at && *at <= now_us;
}

}  // namespace

ExpiryPlan plan_expiry(const std::vector<BranchRecord>& all, int64_t now_us) {
  std::map<std::string, std::vector<BranchRecord>> by_project;
  for (const auto& b : all) by_project[b.project].push_back(b);
  ExpiryPlan plan;
  std::set<std::string> planned;
  for (const auto& [project, branches] : by_project) {
    for (const auto& b : branches) {
      if (!expired(b, now_us) || b.state == BranchState::Creating) continue;
      auto below = descendants(branches, b.name);  // deepest first
      std::string why;
      if (b.is_protected) why = "expired but protected";
      for (const auto& d : below) {
        if (!why.empty()) break;
        if (!expired(d, now_us)) why = fmt::format("expired, but branch '{}' made from it has not", d.full_name());
        else if (d.is_protected) why = fmt::format("expired, but branch '{}' made from it is protected", d.full_name());
      }
      if (!why.empty()) {
        plan.kept.emplace_back(b, why);
        continue;
      }
      below.push_back(b);
      for (const auto& d : below)
        if (planned.insert(d.full_name()).second) plan.remove.push_back(d);
    }
  }
  return plan;
}

ExpiryRun expire_branches(Context& ctx) {
  ExpiryRun run;
  auto all = ctx.store.branches();
  if (!all) {
    run.errors.push_back(all.error().message);
    return run;
  }
  ExpiryPlan plan = plan_expiry(*all, ctx.clock.now_us());
  for (const auto& [b, why] : plan.kept) run.kept.push_back(b.full_name() + ": " + why);
  // Children come first, so each deletion finds no descendant left; the lock
  // and a fresh read inside delete_branch serialize with any command.
  for (const auto& b : plan.remove) {
    auto fresh = ctx.store.branch(b.project, b.name);
    if (!fresh || !*fresh) continue;  // deleted meanwhile
    if (!expired(**fresh, ctx.clock.now_us()) || (*fresh)->is_protected) continue;  // changed meanwhile
    if (auto st = delete_branch(ctx, BranchRef{b.project, b.name}, Force::No); st)
      run.deleted.push_back(b.full_name());
    else
      run.errors.push_back(st.error().message);
  }
  return run;
}

namespace {

bool snapshot_due(Context& ctx, const BranchRecord& b, int64_t every_s, std::vector<std::string>& errors) {
  auto snaps = ctx.store.snapshots(b.project, b.name);
  if (!snaps) {
    errors.push_back(snaps.error().message);
    return false;
  }
  int64_t newest = snaps->empty() ? 0 : snaps->back().created_us;  // oldest first
  return ctx.clock.now_us() - newest >= every_s * 1'000'000;
}

}  // namespace

ScheduleRun run_schedule(Context& ctx, const ProjectRecord& p) {
  ScheduleRun run;
  auto branches = ctx.store.branches(p.name);
  if (!branches) {
    run.errors.push_back(branches.error().message);
    return run;
  }
  for (const auto& b : *branches) {
    if (!p.snapshot_every_s || b.state != BranchState::Running) continue;
    // A sleeping or stopped branch writes nothing: its last snapshot still covers it.
    if (!ctx.postgres.running_pid(instance_for(ctx, b))) continue;
    if (!snapshot_due(ctx, b, *p.snapshot_every_s, run.errors)) continue;
    auto taken = create_snapshot(ctx, BranchRef{b.project, b.name}, timed_label("sched", ctx.clock.now_us()));
    if (taken) run.snapshots.push_back(taken->snapshot.id);
    else run.errors.push_back(taken.error().message);
  }
  for (const auto& b : *branches) {
    if (b.state == BranchState::Creating) continue;
    if (p.keep_snapshots_s) {
      auto old = cleanup_snapshots(ctx, BranchRef{b.project, b.name}, *p.keep_snapshots_s, DryRun::No);
      if (old) run.snapshots_deleted += old->size();
      else run.errors.push_back(old.error().message);
    }
    if (p.keep_wal_s) {
      auto wal = wal_cleanup(ctx, b, *p.keep_wal_s, DryRun::No);
      if (wal) run.wal_bytes_deleted += wal->bytes;
      else run.errors.push_back(wal.error().message);
    }
  }
  return run;
}

}  // namespace pgd
