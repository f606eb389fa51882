// The real Replication: libpq for the protocol commands, Debian's
// pg_basebackup and pg_verifybackup run as the Postgres OS user.
#pragma once

#include "os/process.h"
#include "postgres/replication.h"

namespace pgd {

class NativeReplication : public Replication {
 public:
  explicit NativeReplication(os::OsUser pg_user, std::string bin_root = "/usr/lib/postgresql")
      : m_user(std::move(pg_user)), m_bin_root(std::move(bin_root)) {}
  Result<PrimaryInfo> identify(const Primary& primary) override;
  Status create_slot(const Primary& primary, const std::string& slot) override;
  Status drop_slot(const Primary& primary, const std::string& slot) override;
  Status base_backup(int pg_version, const Primary& primary, const std::string& slot,
                     const std::string& dir, const Watch& watch) override;

 private:
  os::OsUser m_user;
  std::string m_bin_root;
};

}  // namespace pgd
