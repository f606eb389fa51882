// PostgresRunner: initdb, start, stop and CHECKPOINT for one data directory.
//
// Contract: an Instance is a data directory plus where it listens. `start`
// returns only once the server accepts connections on 127.0.0.1:port, or fails
// with the tail of the server log. `stop` is a fast shutdown and a no-op when
// the server is not running. Servers never run as root: the runner drops to
// its Postgres OS user. Passwords travel only through files of mode 0600 and
// libpq parameters, never argv.
// Thread-safety: none; one runner per pgd process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace pgd {

struct Instance {
  std::string name;        // "prod/dev": for messages and cluster_name
  std::string data_dir;
  int pg_version = 0;
  int port = 0;
  std::string socket_dir;  // private, per branch
  std::string log_path;
};

class PostgresRunner {
 public:
  virtual ~PostgresRunner() = default;
  // Major versions with server binaries installed, ascending.
  virtual std::vector<int> installed_versions() = 0;
  // initdb with superuser "postgres" and `password`, then `configure`.
  // REQUIRES: data_dir exists and is empty.
  virtual Status init_cluster(const Instance& instance, const std::string& password) = 0;
  // Makes a (cloned) data directory this instance's: writes pgd.conf, drops the
  // source's postmaster.pid. REQUIRES: the instance is not running.
  virtual Status configure(const Instance& instance) = 0;
  virtual Result<pid_t> start(const Instance& instance) = 0;
  virtual Status stop(const Instance& instance) = 0;
  // The postmaster's pid when it is running on this data directory.
  virtual std::optional<pid_t> running_pid(const Instance& instance) = 0;
  // Flushes every committed transaction's pages so a clone recovers quickly.
  virtual Status checkpoint(const Instance& instance, const std::string& password) = 0;
};

}  // namespace pgd
