#include "postgres/config.h"

#include <sstream>

#include <fmt/format.h>

#include "base/parse.h"

namespace pgd::pg {

std::string conf_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string render_branch_conf(const BranchSettings& s) {
  std::string conf = fmt::format(
      "# Written by pgd for this branch; pgd rewrites it on every clone. Put your own\n"
      "# settings in postgresql.conf or with ALTER SYSTEM.\n"
      "port = {}\n"
      "listen_addresses = '127.0.0.1'\n"
      "unix_socket_directories = {}\n"
      "unix_socket_permissions = 0700\n"
      "password_encryption = 'scram-sha-256'\n"
      "cluster_name = {}\n"
      "# A clone starts with crash recovery, which first fsyncs every file of the data\n"
      "# directory one by one; one syncfs(2) of the filesystem does the same job faster.\n"
      "recovery_init_sync_method = syncfs\n"
      "# A branch's CHECKPOINT writes into blocks its last snapshot shares; without\n"
      "# writeback hints every 256 kB the pages reach disk at each file's fsync, which\n"
      "# made branching a busy source 10-20% faster at equal run-time speed\n"
      "# (docs/design.md). Durability is unchanged: the checkpoint still fsyncs.\n"
      "checkpoint_flush_after = 0\n",
      s.port, conf_quote(s.socket_dir), conf_quote(s.cluster_name));
  for (const auto& [key, value] : s.extra) conf += fmt::format("{} = {}\n", key, conf_quote(value));
  return conf;
}

std::optional<pid_t> parse_postmaster_pid(const std::string& content) {
  std::istringstream in(content);
  std::string first;
  if (!std::getline(in, first) || first.empty()) return std::nullopt;
  auto pid = parse_number<pid_t>(first);
  if (!pid || *pid <= 0) return std::nullopt;
  return pid;
}

std::optional<pid_t> postmaster_pid_for(const std::string& content, const std::string& data_dir) {
  std::istringstream in(content);
  std::string pid_line, dir_line;
  if (!std::getline(in, pid_line) || !std::getline(in, dir_line) || dir_line != data_dir)
    return std::nullopt;
  return parse_postmaster_pid(content);
}

namespace {

// Line `n` (from 1) of postmaster.pid, if the file has that many.
std::optional<std::string> pid_file_line(const std::string& content, int n) {
  std::istringstream in(content);
  std::string line;
  for (int i = 0; i < n; ++i)
    if (!std::getline(in, line)) return std::nullopt;
  return line;
}

}  // namespace

std::optional<int64_t> postmaster_start_time(const std::string& content) {
  auto line = pid_file_line(content, 3);
  auto t = line ? parse_number<int64_t>(*line) : std::nullopt;
  if (!t || *t <= 0) return std::nullopt;
  return t;
}

std::optional<int> postmaster_port(const std::string& content) {
  auto line = pid_file_line(content, 4);
  auto port = line ? parse_number<int>(*line) : std::nullopt;
  if (!port || *port <= 0 || *port > 65535) return std::nullopt;
  return port;
}

bool postmaster_ready(const std::string& content) {
  auto line = pid_file_line(content, 8);
  return line && line->rfind("ready", 0) == 0;
}

}  // namespace pgd::pg

namespace pgd::pg {

std::string render_follow_conf(const FollowSettings& s) {
  std::string conf =
      "# Written by pgd: this main follows a primary. Removed by 'pgd project promote';\n"
      "# never copied into a branch.\n"
      "primary_conninfo = " + conf_quote(s.primary_conninfo) + "\n";
  if (!s.slot.empty()) conf += "primary_slot_name = " + conf_quote(s.slot) + "\n";
  conf +=
      "# Archive what arrives from the primary: pgd's own history of production.\n"
      "archive_mode = 'always'\n"
      "hot_standby = 'on'\n"
      "# Reconnect within a second or two after the primary or the network returns.\n"
      "wal_retrieve_retry_interval = '1s'\n"
      "wal_receiver_timeout = '15s'\n"
      "# A WAL write that fails (a full pool) PANICs: stop instead of looping through\n"
      "# crash recovery; pgd doctor names it, and --fix starts it once there is room.\n"
      "restart_after_crash = 'off'\n";
  return conf;
}

std::vector<std::pair<std::string, std::string>> recovery_minima(
    const std::map<std::string, std::string>& control_fields) {
  static const std::pair<const char*, const char*> k_fields[] = {
      {"max_connections setting", "max_connections"},
      {"max_worker_processes setting", "max_worker_processes"},
      {"max_wal_senders setting", "max_wal_senders"},
      {"max_prepared_xacts setting", "max_prepared_transactions"},
      {"max_locks_per_xact setting", "max_locks_per_transaction"}};
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [field, setting] : k_fields)
    if (auto it = control_fields.find(field); it != control_fields.end() && parse_number<long>(it->second))
      out.emplace_back(setting, it->second);
  return out;
}

std::string render_standby_postgresql_conf(const std::vector<std::pair<std::string, std::string>>& minima) {
  std::string conf =
      "# Written by pgd for a main that follows a primary (the primary's own\n"
      "# configuration files are not copied: they may name its addresses).\n"
      "# Replaying the primary's WAL needs at least the primary's values of:\n";
  for (const auto& [key, value] : minima) conf += fmt::format("{} = {}\n", key, value);
  conf += fmt::format("\n{}\ninclude_if_exists = '{}'\n", k_include_line, k_follow_conf_file);
  return conf;
}

std::string render_standby_hba() {
  return "# Written by pgd: localhost only. On the private socket, pgd's OS users are\n"
         "# postgres (map pgd in pg_ident.conf); everyone else uses a password.\n"
         "local   all   postgres                     peer map=pgd\n"
         "local   all   all                          scram-sha-256\n"
         "host    all   all        127.0.0.1/32      scram-sha-256\n"
         "host    all   all        ::1/128           scram-sha-256\n";
}

std::string render_standby_ident(const std::vector<std::string>& os_users) {
  std::string out = "# Written by pgd: the OS users that may be postgres on the private socket.\n";
  for (const auto& u : os_users) out += fmt::format("pgd   {}   postgres\n", u);
  return out;
}

std::string pgpass_line(const std::string& password) {
  std::string escaped;
  for (char c : password) {
    if (c == ':' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return "*:*:*:*:" + escaped + "\n";
}

}  // namespace pgd::pg
