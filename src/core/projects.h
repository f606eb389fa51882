// Project use cases. A project is a Postgres cluster with a main branch;
// every other branch is a clone within the project.
#pragma once

#include <optional>
#include <string>

#include "core/branches.h"

namespace pgd {

// initdb a new cluster as `<name>/main` and start it. Without `pg_version`,
// the newest installed version. Nothing is left behind on failure.
// The project's record; NotFound (saying where to look) when there is none.
Result<ProjectRecord> require_project(Context& ctx, const std::string& name);
Result<BranchCreated> create_project(Context& ctx, const std::string& name,
                                     std::optional<int> pg_version);
// Refused without Force::Yes when the project has branches besides main.
Status delete_project(Context& ctx, const std::string& name, Force force);
// Removes the project's files outside the pool: password, TLS, logs, WAL archives.
Status remove_project_files(Context& ctx, const std::string& name);

}  // namespace pgd
