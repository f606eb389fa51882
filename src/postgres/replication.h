// Replication: what pgd asks of a primary it follows, over PostgreSQL's
// replication protocol: who it is (IDENTIFY_SYSTEM), its physical slots, and
// a base backup (pg_basebackup, checked with pg_verifybackup).
//
// Contract: a password never reaches a command line or an environment seen by
// another user. pgd's own connections get it in memory (or libpq finds it:
// PGPASSWORD, ~/.pgpass, a service); pg_basebackup runs as the Postgres user
// with PGPASSFILE naming that user's 0600 file. Errors carry the tool's or
// the server's words (wrong password, pg_hba.conf refusal, max_wal_senders).
#pragma once

#include <string>

#include "base/result.h"
#include "postgres/logical_copy.h"

namespace pgd {

struct Primary {
  std::string conninfo;  // libpq URI or key=value; never holds a password
  std::string password;  // empty: libpq finds it, or none is needed
  std::string passfile;  // for pg_basebackup: the Postgres user's 0600 pgpass file
  int timeout_s = 10;    // to connect, and before a vanished network fails
};

struct PrimaryInfo {
  int version_num = 0;    // 150004
  std::string system_id;  // the cluster's identifier
  std::string password;   // the one libpq used ("" when none was asked)
  std::string wal_level;  // "replica" or "logical" (physical replication needs one)
  // Where the connection went (host, port, user, TLS settings as libpq
  // resolved them; no password): what the Postgres user's tools connect with.
  std::string endpoint;
};

class Replication {
 public:
  virtual ~Replication() = default;
  // Connects with replication=true: proves the address, the credentials and
  // the replication permission before anything is made.
  virtual Result<PrimaryInfo> identify(const Primary& primary) = 0;
  // A physical slot that keeps WAL until the follower received it; Conflict
  // when one of that name exists.
  virtual Status create_slot(const Primary& primary, const std::string& slot) = 0;
  // No error when it does not exist.
  virtual Status drop_slot(const Primary& primary, const std::string& slot) = 0;
  // pg_basebackup into the empty directory `dir` (owned by the Postgres
  // user, 0700) with streamed WAL, a fast checkpoint and a SHA-256 manifest,
  // then pg_verifybackup. `slot` empty: none.
  virtual Status base_backup(int pg_version, const Primary& primary, const std::string& slot,
                             const std::string& dir, const Watch& watch) = 0;
};

}  // namespace pgd
