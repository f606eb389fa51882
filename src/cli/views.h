// How records look to users: JSON objects with stable keys, and human lines.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/branches.h"

namespace pgd::cli {

inline constexpr const char* k_host = "127.0.0.1";
inline constexpr const char* k_superuser = "postgres";

// postgresql://postgres@127.0.0.1:25433/postgres — never with the password.
std::string connection_uri(Context& ctx, const BranchRecord& branch);

// Keys: name project branch parent status host port user database uri
// created_at uptime_s ssl_root_cert service pg_version data_dir socket_dir
// log_file as_of recoverable_from [following] expires_at protected
// idle_stop_s (null: never) [size_bytes].
nlohmann::json branch_json(Context& ctx, const BranchRecord& branch, bool with_size);
// A project's idle_stop_s (null: the default), snapshot_every_s,
// keep_snapshots_s and keep_wal_s (null: none).
nlohmann::json policies_json(const ProjectRecord& project);
// expires_at, protected and idle_stop_s (pgd serve's housekeeping) into `j`.
void add_housekeeping_json(Context& ctx, const BranchRecord& branch, nlohmann::json& j);

// A following main's replication: primary receiver lag_bytes lag_seconds
// replayed_at [replay_lsn] [error]; receiver "stopped" when main is.
nlohmann::json following_json(Context& ctx, const BranchRecord& main);

// {"checkpoint": 21.3, ...}
nlohmann::json timings_json(const Timings& timings);

// The result of create/reset/project create: JSON, or a summary with phases.
void print_created(const Output& out, Context& ctx, const std::string& headline,
                   const BranchCreated& created);

}  // namespace pgd::cli
