// Pure text logic about Postgres files: pgd's per-branch settings file and
// postmaster.pid. No I/O here, so it is unit-tested directly.
#pragma once

#include <sys/types.h>

#include <map>
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
// Line 4 of postmaster.pid: the port the postmaster listens on.
std::optional<int> postmaster_port(const std::string& content);
// Line 3 of postmaster.pid: the postmaster's start time in Unix seconds.
std::optional<int64_t> postmaster_start_time(const std::string& content);

}  // namespace pgd::pg

namespace pgd::pg {

// A main that follows a primary (physical streaming replication). Its files:
//  - pgd-follow.conf, included after pgd.conf: how it reaches the primary. A
//    clone never keeps it (prepare_clone removes it), so no branch carries the
//    primary's address or the replication credentials.
//  - postgresql.conf, pgd's own: the settings a server replaying the
//    primary's WAL needs at least at the primary's values, then the include of
//    pgd.conf and pgd-follow.conf. Clones keep it: their recovery needs them too.
//  - pg_hba.conf and pg_ident.conf: localhost only; on the private socket,
//    peer authentication maps pgd's OS users to postgres (the replicated
//    roles' passwords are production's, not the project's).
inline constexpr const char* k_follow_conf_file = "pgd-follow.conf";

struct FollowSettings {
  std::string primary_conninfo;  // with passfile=, never a password
  std::string slot;              // empty: none
};
std::string render_follow_conf(const FollowSettings& settings);

// The settings recovery needs at least at the primary's values (PostgreSQL
// refuses to start, or pauses, below them), read from pg_controldata's fields
// ("max_connections setting" -> {"max_connections", "100"}). Missing fields
// are skipped.
std::vector<std::pair<std::string, std::string>> recovery_minima(
    const std::map<std::string, std::string>& control_fields);
std::string render_standby_postgresql_conf(const std::vector<std::pair<std::string, std::string>>& minima);
std::string render_standby_hba();
// `os_users`: who may log in as postgres over the private socket.
std::string render_standby_ident(const std::vector<std::string>& os_users);

// A pgpass line matching any host, port, database and user: the file is the
// one primary's. ':' and '\' are escaped as libpq expects.
std::string pgpass_line(const std::string& password);

}  // namespace pgd::pg
