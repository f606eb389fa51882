// `pgd branch rename P/OLD P/NEW`: everything that carries a branch's name
// moves with it (its volume and its snapshots' volumes, its WAL archive, its
// log, the state records of it, its snapshots and its children); its data,
// port, settings and history stay. A running branch is stopped (its clients
// disconnected) and started again under the new name, on the same port.
//
// Crash safety: the intent "branch.rename" (subject "P/OLD -> P/NEW") is
// recorded first; each move is a rename(2) and the records change in one
// SQLite transaction, so every state between is "some names moved".
// `pgd doctor --fix` finishes an interrupted rename (finish_rename): the
// rest of the moves, the records, and the start if the branch should run.
#pragma once

#include <string>

#include "base/names.h"
#include "core/context.h"

namespace pgd {

struct Renamed {
  BranchRecord branch;  // as it is now
  bool restarted = false;
};

// Refuses main (either name), a name in use, another project, a branch being
// created, and a project with an operation under way.
Result<Renamed> rename_branch(Context& ctx, const BranchRef& from, const BranchRef& to);

// The intent's subject, and back: "shop/dev -> shop/feature-x".
std::string rename_subject(const std::string& project, const std::string& from, const std::string& to);
struct RenameNames {
  std::string project, from, to;
};
std::optional<RenameNames> parse_rename_subject(const std::string& subject);

// Completes what an interrupted rename left (doctor --fix; its project's lock is held).
Status finish_rename(Context& ctx, const RenameNames& names);

}  // namespace pgd
