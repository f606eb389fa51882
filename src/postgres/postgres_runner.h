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

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "postgres/config.h"
#include "postgres/sql.h"

namespace pgd {

struct Instance {
  std::string name;        // "prod/dev": for messages and cluster_name
  std::string data_dir;
  int pg_version = 0;
  int port = 0;            // published: in its URI, service entry and pgd.conf
  // Where the server is to listen when not on `port` (while `pgd serve`
  // answers the published port: state/port_allocator.h); 0: on `port`.
  int listen_port = 0;
  std::string socket_dir;  // private, per branch
  std::string log_path;
  // More pgd.conf settings (WAL archiving, recovery targets), in order.
  std::vector<std::pair<std::string, std::string>> settings;

  int start_port() const { return listen_port ? listen_port : port; }
};

enum class Recovery { No, Yes };  // Yes: start in archive recovery (recovery.signal)
// Fast: sessions aborted, a shutdown checkpoint, a clean stop. Immediate: no
// checkpoint (the next start recovers) — for data about to be destroyed.
enum class StopMode { Fast, Immediate };

class PostgresRunner {
 public:
  virtual ~PostgresRunner() = default;
  // Major versions with server binaries installed, ascending.
  virtual std::vector<int> installed_versions() = 0;
  // initdb with superuser "postgres" and `password`, then `configure`.
  // REQUIRES: data_dir exists and is empty.
  virtual Status init_cluster(const Instance& instance, const std::string& password) = 0;
  // (Re)writes the instance's pgd.conf; takes effect at the next start.
  virtual Status configure(const Instance& instance) = 0;
  // Makes a cloned data directory this instance's: drops the source's
  // postmaster.pid, asks for archive recovery if wanted, then `configure`.
  // REQUIRES: the instance is not running.
  virtual Status prepare_clone(const Instance& instance, Recovery recovery) = 0;
  // `on_wait` is called about every 200 ms while start-up (e.g. WAL replay)
  // goes on; `on_spawned` once, as soon as the postmaster runs (work that can
  // overlap its start-up).
  virtual Result<pid_t> start(const Instance& instance, const std::function<void()>& on_wait = {},
                              const std::function<void()>& on_spawned = {}) = 0;
  virtual Status stop(const Instance& instance, StopMode mode = StopMode::Fast) = 0;
  // The postmaster's pid when it is running on this data directory.
  virtual std::optional<pid_t> running_pid(const Instance& instance) = 0;
  // The port the running postmaster listens on (its published port, or its
  // private one behind `pgd serve`); nullopt when it is not running.
  virtual std::optional<int> listening_port(const Instance& instance) = 0;
  // When the running postmaster started (Unix seconds), for uptime.
  virtual std::optional<int64_t> started_at(const Instance& instance) = 0;
  // A superuser session on a running instance, for work that spans several
  // statements (an online backup must start and stop on the same session).
  // An empty password logs in over the private socket with peer
  // authentication instead (a following main, whose roles are the primary's).
  virtual Result<std::unique_ptr<pg::Session>> connect(const Instance& instance,
                                                       const std::string& password,
                                                       const std::string& dbname = "postgres") = 0;
  // Runs SQL as the superuser on a running instance.
  virtual Result<pg::Rows> query(const Instance& instance, const std::string& password,
                                 const std::string& sql) = 0;
  // pg_controldata's fields ("Latest checkpoint location" -> "0/3000028").
  virtual Result<std::map<std::string, std::string>> control_data(const Instance& instance) = 0;
  // A directory the server writes to (e.g. its WAL archive): created if
  // missing, owned by the Postgres user, mode 0700.
  virtual Status make_server_dir(const std::string& path) = 0;
  // Makes `dir`/ca.crt (a new CA, its key discarded once it has signed) and
  // `dir`/server.crt + server.key for 127.0.0.1 and localhost, the key readable
  // by the server only; `subject` (the project name, at most 63 characters)
  // names the CA. Branches then accept sslmode=require and verify-full.
  virtual Status create_certificates(const std::string& dir, const std::string& subject) = 0;
  // Extensions this machine can create in a cluster of `pg_version`.
  virtual Result<std::set<std::string>> available_extensions(int pg_version) = 0;
  // Makes a base backup of a primary (pg_basebackup's copy, in data_dir) this
  // instance's, as a standby that follows the primary: pgd's own
  // postgresql.conf (the recovery minima read from its pg_control),
  // pg_hba.conf and pg_ident.conf (the primary's removed, with its
  // postgresql.auto.conf: they may name its addresses or settings of its own),
  // pgd-follow.conf, pgd.conf and standby.signal (config.h says why).
  // REQUIRES: the instance is not running.
  virtual Status configure_standby(const Instance& instance, const pg::FollowSettings& follow) = 0;
  // Readies a throwaway clone for reading by pgd alone (pgd diff of a
  // snapshot or a stopped branch): pg_hba.conf and pg_ident.conf let only
  // pgd's OS users in, as postgres over the private socket; then as
  // prepare_clone(Recovery::No). The instance's settings should switch TCP
  // and archiving off. REQUIRES: the instance is not running.
  virtual Status prepare_private(const Instance& instance) = 0;
  // After a promotion: no pgd-follow.conf any more, pgd.conf rewritten.
  virtual Status end_following(const Instance& instance) = 0;
  // Makes everything written to the instance's data directory durable (one
  // syncfs): after a run with fsync off, such as an import's bulk load.
  virtual Status flush_to_disk(const Instance& instance) = 0;
};

}  // namespace pgd
