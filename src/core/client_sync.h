// Keeps libpq's service and password files in step with pgd's branches, so
// `psql service=prod-dev` works (see clients/client_files.h for the format).
#pragma once

#include <vector>

#include "clients/client_files.h"
#include "core/context.h"

namespace pgd {

// One entry per branch, in creation order; a service name already taken by an
// older branch is skipped.
Result<std::vector<ClientEntry>> client_entries(Context& ctx);
// Waits up to `lock_wait_ms` for the files' lock (0: only if it is free now;
// then a busy lock is a Conflict error).
Status sync_client_files(Context& ctx, const ClientFilePaths& paths, int lock_wait_ms = 60'000);

}  // namespace pgd
