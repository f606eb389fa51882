#include "cli/env.h"

#include <cstdlib>

#include <fmt/format.h>

#include "core/client_sync.h"
#include "core/setup.h"
#include "os/fs.h"
#include "os/net.h"
#include "postgres/native_postgres.h"
#include "serve/daemon.h"

namespace pgd::cli {

Env::Env() : m_paths(Paths::from_environment()) {}
Env::~Env() = default;

Result<Store*> Env::store() {
  if (!m_store) {
    if (!os::exists(m_paths.home)) TRY(os::make_dirs(m_paths.home, 0711));
    TRY_ASSIGN(m_store, Store::open(m_paths.state_db()));
    m_changes_at_open = m_store->changes();
  }
  return m_store.get();
}

Result<PoolConfig> Env::pool() {
  TRY_ASSIGN(Store * s, store());
  TRY_ASSIGN(auto pool, s->pool());
  if (!pool)
    return fail(ErrorKind::Usage,
                fmt::format("pgd is not set up (state in {}): run 'sudo pgd setup --pool-file "
                            "/var/lib/pgd/pool.img --size 20G' or 'pgd setup --dir DIR'",
                            m_paths.home));
  return *pool;
}

Result<Context*> Env::context() {
  if (m_context) return m_context.get();
  TRY_ASSIGN(PoolConfig pool, this->pool());
  if (pool.mode == "file" && !os::is_mount_point(pool.mount_point))
    return fail(fmt::format("pool {} is not mounted at {} (after a reboot or 'pgd setup "
                            "--detach'): run 'sudo pgd setup' to re-attach it",
                            pool.pool_file, pool.mount_point));
  // PGD_BTRFS_COW=always: btrfs's default copy-on-write for new projects (benchmarks).
  const char* cow = std::getenv("PGD_BTRFS_COW");
  TRY_ASSIGN(m_storage, open_storage(pool.kind, pool.mount_point,
                                     cow && std::string(cow) == "always" ? CopyOnWrite::Always
                                                                         : CopyOnWrite::AfterSnapshotOnly));
  TRY_ASSIGN(os::OsUser user, postgres_user(m_host, pool));
  m_postgres = std::make_unique<NativePostgres>(user, m_paths.tmp_dir());
  m_replication = std::make_unique<NativeReplication>(user);
  m_context.reset(new Context{m_paths, *m_store, *m_storage, *m_postgres, m_clock, m_files, m_processes,
                              os::tcp_port_free, m_progress, m_replication.get(), {}, {}});
  // A new branch's service and password entries are written while its server
  // starts, if no other command holds the files (else many creates at once
  // would each queue on them twice); the sync at the end of the command then
  // finds them in place, or writes them.
  m_context->while_starting = [this] {
    ignore_error(pgd::sync_client_files(*m_context, client_file_paths_from_environment(), 0),
                 "the sync at the end of the command waits for the files, retries and reports");
  };
  m_context->daemon_serving = [this] {
    if (!m_serving) m_serving = serve::daemon_running(m_paths);
    return *m_serving;
  };
  return m_context.get();
}

std::vector<int> Env::installed_postgres_versions() {
  return NativePostgres(os::current_user(), m_paths.tmp_dir()).installed_versions();
}

std::vector<std::string> Env::warnings() const {
  return m_context ? m_context->warnings : std::vector<std::string>{};
}

Status Env::sync_client_files() {
  if (!m_context || m_store->changes() == m_changes_at_open) return {};
  TRY(pgd::sync_client_files(*m_context, client_file_paths_from_environment()));
  // A new branch's port is answered by the daemon before this command returns.
  return serve::notify_daemon(m_paths);
}

}  // namespace pgd::cli
