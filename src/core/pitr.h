// Point-in-time recovery into a new branch.
//
// Steps: choose the latest snapshot of the source taken at or before the
// target (or the labelled one); make sure the source's archive covers up to
// now (switch WAL and wait for the archiver); clone the snapshot; start it in
// archive recovery with a restore command reading the source's archive, the
// target, and recovery_target_action = promote; wait until it has promoted.
// The new branch archives into its own archive from the start, never into
// the source's. A label needs no replay: the snapshot itself is the target.
#pragma once

#include <optional>
#include <string>

#include "core/branches.h"

namespace pgd {

// `target_text`: a time, relative time, LSN or snapshot label of the source.
Result<BranchCreated> create_pitr_branch(Context& ctx, const BranchRef& target,
                                         const std::optional<BranchRef>& from,
                                         const std::string& target_text);

}  // namespace pgd
