// The composition root: the only place real implementations are constructed.
// Commands ask for what they need; nothing is opened that a command does not use
// (`pgd --help` touches no file).
#pragma once

#include <memory>
#include <optional>

#include "core/context.h"

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

 private:
  Paths m_paths;
  os::RealClock m_clock;
  std::unique_ptr<Store> m_store;
  std::unique_ptr<StorageBackend> m_storage;
  std::unique_ptr<PostgresRunner> m_postgres;
  std::unique_ptr<Context> m_context;
};

}  // namespace pgd::cli
