// Project use cases. A project is a Postgres cluster with a main branch;
// every other branch is a clone within the project.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/branches.h"

namespace pgd {

// initdb a new cluster as `<name>/main` and start it. Without `pg_version`,
// the newest installed version. Nothing is left behind on failure.
// The project's record; NotFound (saying where to look) when there is none.
Result<ProjectRecord> require_project(Context& ctx, const std::string& name);
// Fills a new main's cluster between initdb and its first start (an import):
// `in` is stopped and configured as main; leave it so.
using FillCluster = std::function<Status(const BranchRecord& main, const Instance& in,
                                         const std::string& password, Operation& op)>;
// Makes a new main's cluster instead of initdb (a base backup of a primary).
using InitCluster = std::function<Status(const BranchRecord& main, const Instance& in, Operation& op)>;
Result<BranchCreated> create_project(Context& ctx, const std::string& name,
                                     std::optional<int> pg_version, const FillCluster& fill = {},
                                     const InitCluster& init = {});
// The database a project's connection details name: the imported one, or
// "postgres" (also when the record cannot be read: details, not decisions).
std::string database_of(Context& ctx, const std::string& project);
// Refused without Force::Yes when the project has branches besides main.
Status delete_project(Context& ctx, const std::string& name, Force force);
// Removes the project's files outside the pool: password, TLS, logs, WAL archives.
Status remove_project_files(Context& ctx, const std::string& name);

}  // namespace pgd
