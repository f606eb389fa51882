// The real PostgresRunner: Debian's binaries under /usr/lib/postgresql/<ver>/bin,
// run as an unprivileged OS user, the postmaster spawned directly (no pg_ctl:
// its 100 ms readiness polling would be most of a branch's start time).
#pragma once

#include "os/process.h"
#include "postgres/postgres_runner.h"

namespace pgd {

class NativePostgres : public PostgresRunner {
 public:
  // `tmp_dir`: where short-lived secret files (initdb's pwfile) are made.
  NativePostgres(os::OsUser pg_user, std::string tmp_dir, std::string bin_root = "/usr/lib/postgresql")
      : m_user(std::move(pg_user)), m_tmp_dir(std::move(tmp_dir)), m_bin_root(std::move(bin_root)) {}

  std::vector<int> installed_versions() override;
  Status init_cluster(const Instance& instance, const std::string& password) override;
  Status configure(const Instance& instance) override;
  Status prepare_clone(const Instance& instance, Recovery recovery) override;
  Result<pid_t> start(const Instance& instance, const std::function<void()>& on_wait = {},
                      const std::function<void()>& on_spawned = {}) override;
  Status stop(const Instance& instance, StopMode mode = StopMode::Fast) override;
  std::optional<pid_t> running_pid(const Instance& instance) override;
  std::optional<int64_t> started_at(const Instance& instance) override;
  std::optional<int> listening_port(const Instance& instance) override;
  Result<std::unique_ptr<pg::Session>> connect(const Instance& instance,
                                               const std::string& password,
                                               const std::string& dbname = "postgres") override;
  Result<pg::Rows> query(const Instance& instance, const std::string& password,
                         const std::string& sql) override;
  Result<std::map<std::string, std::string>> control_data(const Instance& instance) override;
  Status make_server_dir(const std::string& path) override;
  Status create_certificates(const std::string& dir, const std::string& subject) override;
  Result<std::set<std::string>> available_extensions(int pg_version) override;
  Status flush_to_disk(const Instance& instance) override;
  Status configure_standby(const Instance& instance, const pg::FollowSettings& follow) override;
  Status prepare_private(const Instance& instance) override;
  Status end_following(const Instance& instance) override;

 private:
  std::string bin(int version, const std::string& program) const;
  Status wait_ready(const Instance& instance, pid_t pid, const std::function<void()>& on_wait);
  Status wait_exit(pid_t pid, int timeout_ms);
  std::pair<uid_t, gid_t> owner() const { return {m_user.uid, m_user.gid}; }
  os::OsUser m_user;
  std::string m_tmp_dir;
  std::string m_bin_root;
};

}  // namespace pgd
