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

std::optional<int64_t> postmaster_start_time(const std::string& content) {
  std::istringstream in(content);
  std::string line;
  for (int i = 0; i < 3; ++i)
    if (!std::getline(in, line)) return std::nullopt;
  auto t = parse_number<int64_t>(line);
  if (!t || *t <= 0) return std::nullopt;
  return t;
}

bool postmaster_ready(const std::string& content) {
  std::istringstream in(content);
  std::string line;
  for (int i = 0; i < 8; ++i)
    if (!std::getline(in, line)) return false;
  return line.rfind("ready", 0) == 0;
}

}  // namespace pgd::pg
