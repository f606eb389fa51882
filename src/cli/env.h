// The composition root: the only place real implementations are constructed.
// Commands ask for what they need; nothing is opened that a command does not use
// (`pgd --help` touches no file).
#pragma once

#include <memory>
#include <optional>

#include "cli/real_host.h"
#include "core/context.h"
#include "os/files.h"
#include "os/process.h"
#include "postgres/native_copy.h"
#include "postgres/native_replication.h"

namespace pgd::cli {

class Env {
 public:
  Env();
  ~Env();
  const Paths& paths() const { return m_paths; }
  // The state store, creating $PGD_HOME's database if needed.
  Result<Store*> store();
  // The recorded pool; a Usage error telling how to set up when there is none.
  Result<PoolConfig> pool();
  // A full context: store, storage, Postgres runner. REQUIRES: pgd is set up.
  Result<Context*> context();
  Host& host() { return m_host; }
  // Major versions of PostgreSQL whose server binaries are installed.
  std::vector<int> installed_postgres_versions();
  os::Files& files() { return m_files; }
  // pg_dump, pg_restore and friends, for imports.
  LogicalCopier& copier() { return m_copier; }
  // Where use cases report phases as they happen; set before context().
  void set_progress(Progress* progress) { m_progress = progress; }
  // Rewrites pgd's block in the libpq service and password files when this
  // command changed a record (read-only commands pay nothing).
  Status sync_client_files();
  // Whether servers started by this process listen behind `pgd serve`: asked
  // of the daemon once, unless set (the daemon's own contexts).
  void set_daemon_serving(bool serving) { m_serving = serving; }
  // What the command's use cases recorded as warnings (failed cleanups).
  std::vector<std::string> warnings() const;

 private:
  Paths m_paths;
  os::RealClock m_clock;
  os::RealFiles m_files;
  os::RealProcesses m_processes;
  RealHost m_host;
  NativeCopier m_copier;
  std::unique_ptr<Store> m_store;
  std::unique_ptr<StorageBackend> m_storage;
  std::unique_ptr<PostgresRunner> m_postgres;
  std::unique_ptr<Replication> m_replication;
  std::unique_ptr<Context> m_context;
  Progress* m_progress = nullptr;
  int64_t m_changes_at_open = 0;  // Store::changes() once opened (and migrated)
  std::optional<bool> m_serving;
};

}  // namespace pgd::cli
