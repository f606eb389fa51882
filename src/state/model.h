// The records pgd keeps: plain structs, no behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgd {

// Where branches live. kind "btrfs" or "xfs"; mode "file": an image of that
// filesystem pgd loop-mounts; "dir": an existing directory on it the user manages.
struct PoolConfig {
  std::string kind = "btrfs";
  std::string mode;          // "file" | "dir"
  std::string pool_file;     // mode "file" only
  std::string mount_point;   // the storage root
  uint64_t size_bytes = 0;   // mode "file" only
  std::string pg_user;       // OS user that runs Postgres
};

struct ProjectRecord {
  std::string name;
  int pg_version = 0;
  std::string created_at;  // ISO 8601 UTC
  std::string database = "postgres";  // what connection details name
  // An imported project's source (a libpq URI, key=value string or
  // service=NAME; pgd refuses one with a password) and when main was copied.
  std::optional<std::string> source;
  std::optional<std::string> copied_at;
  // A project whose main follows a primary (`--follow`): the primary as given
  // (never with a password), the physical slot main streams through and
  // whether pgd made it (then pgd drops it), and when main was promoted.
  std::optional<std::string> primary;
  std::optional<std::string> slot;
  bool slot_owned = false;
  std::optional<std::string> promoted_at;

  // What `pgd serve` does for the project (seconds; none when unset). Idle
  // stop applies to its branches other than main; 0 means never.
  std::optional<int64_t> idle_stop_s;
  std::optional<int64_t> snapshot_every_s;
  std::optional<int64_t> keep_snapshots_s;
  std::optional<int64_t> keep_wal_s;

  bool following() const { return primary.has_value() && !promoted_at.has_value(); }
};

// The state a branch should be in. Live state (is the postmaster up?) is asked
// of the runner; `pgd start --all` restores every branch recorded as Running.
// Sleeping: stopped by `pgd serve` for idleness; the next connection wakes it.
enum class BranchState { Creating, Running, Stopped, Sleeping };
std::string to_string(BranchState state);
std::optional<BranchState> parse_branch_state(const std::string& text);

struct BranchRecord {
  std::string project;
  std::string name;
  std::optional<std::string> parent;  // branch name within the project; none for main
  int port = 0;
  BranchState state = BranchState::Creating;
  std::string volume;                 // storage volume, "<project>/<branch>"
  std::string created_at;
  int pg_version = 0;
  // A branch recovered from a primary's WAL (of a following main, or PITR of
  // one): the primary's last commit it holds, ISO 8601 UTC.
  std::optional<std::string> as_of;
  // Housekeeping by `pgd serve`: deleted after this moment (ISO 8601 UTC);
  // stopped after this many seconds without a client (0: never; none: the
  // project's default). A protected branch refuses delete and reset.
  std::optional<std::string> expires_at;
  std::optional<int64_t> idle_stop_s;
  bool is_protected = false;

  std::string full_name() const { return project + "/" + name; }
};

}  // namespace pgd

namespace pgd {

// Manual: taken by `pgd snapshot create`. Base: taken by pgd when the branch
// was made (or reset), so that its recoverable window starts at its creation.
enum class SnapshotKind { Manual, Base };

// A read-only, application-consistent copy of a branch at one moment.
struct SnapshotRecord {
  std::string id;       // unique: "<yyyymmdd>-<hhmmss>-<4 hex>"
  std::string project;
  std::string branch;
  std::optional<std::string> label;  // unique per branch
  int64_t created_us = 0;  // read just after the snapshot: bounds every commit it holds
  std::string lsn;         // WAL position read just after the snapshot (upper bound)
  std::string redo_lsn;    // REDO point of the checkpoint before it: where replay starts
  std::string volume;      // "<project>/<branch>@<id>"
  uint64_t size_bytes = 0; // bytes it references
  SnapshotKind kind = SnapshotKind::Manual;

  std::string branch_name() const { return project + "/" + branch; }
};

}  // namespace pgd

namespace pgd {

// A multi-step operation in progress (or interrupted, when its pid is gone).
struct IntentRecord {
  int64_t id = 0;
  std::string op;       // "branch.create", "project.delete", ...
  std::string subject;  // "prod/dev" or "prod"
  std::string step;     // the last step reached
  std::string started_at;
  int pid = 0;
};

}  // namespace pgd
