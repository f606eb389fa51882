// Store: pgd's state in SQLite under $PGD_HOME.
//
// Contract: safe when several pgd processes run at once: writes run in
// BEGIN IMMEDIATE transactions and wait (busy timeout) for each other; a
// branch's name and port are reserved atomically by `reserve_branch`, so two
// concurrent creates never get the same port. Schema changes are migrations
// keyed by PRAGMA user_version. The store never spawns a process.
// Errors: "state <path>: <operation>: <sqlite message>".
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "state/model.h"

struct sqlite3;

namespace pgd {

using PortProbe = std::function<bool(int)>;

class Store {
 public:
  // Opens (creating with mode 0600 and migrating as needed) the database at `path`.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  // Rows inserted, updated or deleted through this connection so far: a
  // command that leaves it unchanged changed no record.
  int64_t changes() const;

  // The recorded pool; nullopt when none is. A damaged record is an error.
  Result<std::optional<PoolConfig>> pool();
  Status save_pool(const PoolConfig& pool);

  // Inserts the project and its main branch (state Creating, a fresh port).
  // Fails with Conflict when the project exists.
  Result<BranchRecord> insert_project(const ProjectRecord& project, BranchRecord main,
                                      const PortProbe& port_free);
  Result<std::optional<ProjectRecord>> project(const std::string& name);
  Result<std::vector<ProjectRecord>> projects();
  // A following project's primary, slot and promotion, as in `p`.
  Status set_project_follow(const ProjectRecord& p);
  // After an import or a refresh: the database copied, from where, when.
  Status set_project_source(const std::string& name, const std::string& database,
                            const std::string& source, const std::string& copied_at);
  Status delete_project(const std::string& name);  // with its branches

  // Inserts `branch` (state Creating) with a fresh port. Conflict when it exists.
  Result<BranchRecord> reserve_branch(BranchRecord branch, const PortProbe& port_free);
  Result<std::optional<BranchRecord>> branch(const std::string& project, const std::string& name);
  // All branches, or one project's, ordered by project then creation.
  Result<std::vector<BranchRecord>> branches(const std::optional<std::string>& project = {});
  Status set_branch_state(const std::string& project, const std::string& name, BranchState state);
  Status set_branch_as_of(const std::string& project, const std::string& name, const std::string& as_of);
  // The branch's expiry, idle stop and protection, as in `b`.
  Status set_branch_housekeeping(const BranchRecord& b);
  // The project's idle stop and schedules, as in `p`.
  Status set_project_policies(const ProjectRecord& p);
  Status delete_branch(const std::string& project, const std::string& name);
  // In one transaction: the branch `from` becomes `to` (its volume
  // "<project>/<to>"), its children name it as their parent, and its
  // snapshots' records follow it (volumes "<project>/<to>@<id>"). NotFound
  // when there is no `from`; Conflict when `to` exists.
  Status rename_branch(const std::string& project, const std::string& from, const std::string& to);

  // Conflict when the branch already has a snapshot with this label.
  Status insert_snapshot(const SnapshotRecord& snapshot);
  // All, one project's or one branch's snapshots, oldest first.
  Result<std::vector<SnapshotRecord>> snapshots(const std::optional<std::string>& project = {},
                                                const std::optional<std::string>& branch = {});
  Status delete_snapshot(const std::string& id);
  Status update_snapshot_size(const std::string& id, uint64_t size_bytes);

  // The intent journal: a row per multi-step operation, from before it acts
  // until it is done (or rolled back). Rows left by killed processes are what
  // `pgd doctor` reports and `pgd doctor --fix` resolves.
  Result<int64_t> begin_intent(const std::string& op, const std::string& subject,
                               const std::string& started_at, int pid);
  Status advance_intent(int64_t id, const std::string& step);
  Status end_intent(int64_t id);
  Result<std::vector<IntentRecord>> intents();
  // A port no branch has and nothing listens on, not reserved: for a server
  // that lives only while one command runs (a refresh's new copy).
  Result<int> allocate_port(const PortProbe& port_free);

 private:
  Result<std::optional<std::string>> meta(const std::string& key);
  explicit Store(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}
  Status migrate();
  Status exec(const std::string& sql);
  Status in_transaction(const std::function<Status()>& body);
  Status insert_branch(const BranchRecord& b);
  Error error(const std::string& op) const;

  sqlite3* m_db;
  std::string m_path;
};

}  // namespace pgd
