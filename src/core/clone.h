// Cloning a branch's data directory so that the clone holds every transaction
// committed before the call, whether the source runs or not, on any backend.
//
// Atomic backends (btrfs): CHECKPOINT a running source (so the clone's crash
// recovery has almost nothing to replay), then one atomic clone.
// File-by-file backends (XFS reflink): PostgreSQL's online backup protocol on
// one session — pg_backup_start (an immediate checkpoint), clone every file,
// pg_backup_stop, clone pg_wal again (it now holds the backup's end), write the
// backup_label. The clone then replays from the backup's checkpoint to its end,
// exactly as a restored base backup does. A killed pgd ends the session, which
// aborts the backup on the source; doctor removes the half-made clone.
#pragma once

#include <string>

#include "core/context.h"
#include "core/operation.h"

namespace pgd {

struct ClonePoints {
  // Known when the source was running:
  std::string redo_lsn;  // where replay in the clone starts
  std::string end_lsn;   // every commit the clone holds lies before it
  // A standby source (a following main): the primary's last commit it had
  // replayed when the clone was taken (ISO 8601 UTC); the clone holds it.
  std::string replayed_commit;
};

// Clones `source`'s volume to `target` with `access`, recording the phases
// "checkpoint" and "snapshot" in `timings` and the steps "checkpointed" and
// "cloned" in `op`. On failure nothing is left at `target`.
Result<ClonePoints> clone_branch_data(Context& ctx, Timings& timings, const std::string& subject,
                                      const BranchRecord& source, const std::string& target,
                                      Access access, Operation& op);

// The WAL bounds of a data directory that is not running: its last checkpoint
// (a shutdown checkpoint for a cleanly stopped server) bounds everything in it.
Result<ClonePoints> last_checkpoint(Context& ctx, const Instance& stopped);

// Makes the clone at `data_dir` archive, into its own archive, every WAL
// segment from `redo_lsn` on: drops the "already archived" marks (.done) it
// copied from its source, whose archive is not the branch's. Without this the
// branch's archive would miss the WAL between its base and its first own segment.
Status own_wal_history(Context& ctx, const std::string& data_dir, const std::string& redo_lsn);

// Destroys a half-made clone on a failure path; a failure becomes a warning.
void destroy_clone(Context& ctx, const std::string& volume);

}  // namespace pgd
