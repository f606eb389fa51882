// Checking pgd's records against reality, and repairing the difference.
//
// Interrupted operations (intents whose pgd process is gone) are resolved
// first: deletions roll forward (the user asked for the data to go), a reset
// interrupted after its swap rolls forward (the branch already holds the
// parent's data), everything else rolls back. Then, per project and under its
// lock, records and reality are reconciled both ways:
//   - a branch still "creating"          -> destroyed (rolled back)
//   - a branch or snapshot whose subvolume is gone -> its record removed
//   - a project with no branch left      -> removed with its secret, logs, archives
//   - a subvolume no record names        -> its postmaster stopped, then destroyed
//   - a branch that should run but does not -> started; one that runs but should not -> stopped
// Ports belong to records only, so removing ghost records frees them.
#pragma once

#include <string>
#include <vector>

#include "core/context.h"

namespace pgd {

struct Finding {
  std::string subject;  // "branch prod/dev", "subvolume prod/x", ...
  std::string problem;
  std::string fix;      // what `pgd doctor --fix` does about it
  bool fixed = false;
};

enum class Mode { Report, Fix };

// REQUIRES: the pool is attached. In Mode::Fix each project is locked while
// it is repaired; a project busy with a live command is reported, not touched.
Result<std::vector<Finding>> reconcile(Context& ctx, Mode mode);

}  // namespace pgd
