// Pure text logic about Postgres files: pgd's per-branch settings file and
// postmaster.pid. No I/O here, so it is unit-tested directly.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgd::pg {

// The file pgd owns inside every data directory; postgresql.conf includes it.
inline constexpr const char* k_branch_conf_file = "pgd.conf";
inline constexpr const char* k_include_line = "include_if_exists = 'pgd.conf'";

struct BranchSettings {
  int port = 0;
  std::string socket_dir;
  std::string cluster_name;  // shown in `ps`, e.g. "pgd prod/dev"
  // Further settings (archiving, recovery), rendered quoted in this order.
  std::vector<std::pair<std::string, std::string>> extra;
};

// Settings that differ per branch, plus the security baseline (localhost only,
// scram-sha-256). Values are quoted for postgresql.conf.
std::string render_branch_conf(const BranchSettings& settings);

// Quotes a postgresql.conf string value: 'it''s'.
std::string conf_quote(const std::string& value);

// The postmaster's pid from postmaster.pid's first line, if well-formed.
std::optional<pid_t> parse_postmaster_pid(const std::string& content);
// The pid of the postmaster serving `data_dir` per this postmaster.pid, if the
// file names that directory on its second line. A clone's copy of its
// source's lock file names the source: its pid must never be taken for the
// clone's (stopping it would stop the source).
std::optional<pid_t> postmaster_pid_for(const std::string& content, const std::string& data_dir);

// Whether postmaster.pid says the server accepts connections: its 8th line is
// the status, "ready" padded with spaces (PG 10+). Before that: "starting".
bool postmaster_ready(const std::string& content);
// Line 3 of postmaster.pid: the postmaster's start time in Unix seconds.
std::optional<int64_t> postmaster_start_time(const std::string& content);

}  // namespace pgd::pg
