// Branch use cases: create (clone), delete, reset, start, stop.
// Each is a short list of named steps; where a step makes something that a
// later failure must undo, a ScopeGuard says so.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/context.h"
#include "base/names.h"

namespace pgd {

enum class Force { No, Yes };

// What users see as a branch's status: the recorded intent checked against the process.
// Sleeping: stopped by `pgd serve` for idleness; a connection wakes it.
enum class LiveStatus { Running, Stopped, Failed, Creating, Sleeping };
std::string to_string(LiveStatus status);
LiveStatus live_status(Context& ctx, const BranchRecord& branch);

struct BranchCreated {
  BranchRecord branch;
  Timings timings;
  double total_ms = 0;
};

// Fails with NotFound naming what exists when the branch is unknown.
Result<BranchRecord> require_branch(Context& ctx, const BranchRef& ref);

// A writable copy of `from` (default: main) containing every transaction
// committed before the call, running on its own port.
Result<BranchCreated> create_branch(Context& ctx, const BranchRef& target,
                                    const std::optional<BranchRef>& from);
// Deletes a branch; with Force::Yes its descendants too (refused otherwise).
Status delete_branch(Context& ctx, const BranchRef& ref, Force force);
// Replaces a branch's data with its parent's current state; keeps name and port.
// Its WAL history starts anew, so its snapshots would be useless: refused when
// it has any, unless Force::Yes (which deletes them).
Result<BranchCreated> reset_branch(Context& ctx, const BranchRef& ref, Force force = Force::No);
Status start_branch(Context& ctx, const BranchRecord& branch);
// start_branch's work without its lock or record (the caller holds the
// project's lock): certificates, archive and pgd.conf as of now, the start.
// Nothing when the server runs.
Status start_server(Context& ctx, const BranchRecord& branch);
Status stop_branch(Context& ctx, const BranchRecord& branch);

// `name`'s descendants within `all` (one project's branches), deepest first.
std::vector<BranchRecord> descendants(const std::vector<BranchRecord>& all, const std::string& name);

// Records `branch` as being created, with a fresh port (name and port are
// reserved atomically, so concurrent creates cannot collide). A subvolume
// already at its place is not ours: Conflict, and it is never touched.
Result<BranchRecord> reserve_branch(Context& ctx, BranchRecord branch);
class Operation;
// A new branch `target` of `source`: its record (state Creating, a fresh port)
// reserved and the step "reserved" journaled. On failure nothing is left.
Result<BranchRecord> reserve_new_branch(Context& ctx, const BranchRef& target,
                                        const BranchRecord& source, Operation& op);
// The last step of every create: the record says Running; `out` gets the branch and the total time.
Status finish_created(Context& ctx, BranchRecord& branch, BranchCreated& out,
                      std::chrono::steady_clock::time_point started);

// The branch to clone from: `from`, or the target's project's main.
Result<BranchRecord> resolve_source(Context& ctx, const BranchRef& target,
                                    const std::optional<BranchRef>& from);

class Operation;
// Removes a branch's process, snapshots, volume, WAL archive, log, socket dir
// and record. No checks, no lock: for use inside an Operation (whose steps it
// records, when given).
Status destroy_branch(Context& ctx, const BranchRecord& branch, Operation* op = nullptr);
// destroy_branch on a failure path: what it cannot remove becomes a warning
// (the journal still names the operation, so doctor --fix finishes the job).
void undo_branch(Context& ctx, const BranchRecord& branch);

}  // namespace pgd
