// Follow use cases: a project whose main is a hot standby streaming from a
// primary elsewhere (`pgd project create NAME --follow URL`), the live state
// of that standby, branches of it, and its promotion.
//
// main is made by pg_basebackup (streamed WAL, SHA-256 manifest verified by
// pg_verifybackup) and runs read-only, streaming, archiving what it receives
// (archive_mode = always) into its own archive, so PITR reaches any moment of
// production since the project was made. A branch of it is made as any
// branch is: a clone (after a restartpoint) whose crash recovery replays every
// WAL record it holds and which then runs writable, continuing the WAL of
// production's timeline in its own archive (histories never meet: every
// branch and main archive apart). Measured: promoting it onto a new timeline
// instead cost ~50 ms more per branch, most of it PostgreSQL copying the last
// WAL segment into the new timeline (docs/design.md). It then gets the
// project's password (the replicated roles carry production's). A PITR branch
// is recovered from main's archive and promoted, as for any project. pgd's own sessions with a following main log in over the
// private socket with peer authentication (pg_hba.conf/pg_ident.conf written
// by pgd); the replication password lives only in a 0600 file of the
// Postgres user, named by passfile= in primary_conninfo.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/branches.h"
#include "core/clone.h"
#include "core/context.h"

namespace pgd {

struct FollowOptions {
  std::string primary;   // --follow: a libpq URI, key=value string or service=NAME
  std::string slot;      // --slot: a physical slot pgd creates; empty: none
  int connect_timeout_s = 10;
  // Asked once when the primary wants a password libpq found nowhere.
  std::function<std::optional<std::string>()> ask_password;
};

// Makes the project and starts main following the primary. Refused before
// anything is made: a primary of a major version not installed here, a slot
// name in use, a primary that refuses the replication connection. Any failure
// (or a kill, after doctor --fix) leaves nothing, on this host or the primary.
Result<BranchCreated> follow_project(Context& ctx, const std::string& name, const FollowOptions& options);

// What `pgd status` shows of a following main.
struct FollowStatus {
  std::string primary;         // as recorded (no password)
  std::string receiver;        // "streaming", "catchup", ... or "disconnected"
  std::string replay_lsn;
  std::optional<int64_t> lag_bytes;   // behind the primary's last reported end
  std::optional<double> lag_seconds;  // 0 when everything received is replayed
  std::string replayed_at;     // the last replayed commit's time ("" if none yet)
};
Result<FollowStatus> follow_status(Context& ctx, const BranchRecord& main);

// Stops following: main is promoted (writable, on a new timeline), gets the
// project's password, and pgd drops the slot it made on the primary (a
// warning, not a failure, when the primary cannot be reached).
Status promote_project(Context& ctx, const std::string& name);

// Whether `b` is the main branch of a project that follows a primary now.
bool is_following_main(Context& ctx, const BranchRecord& b);
// Whether the project's data came from a primary (following now or promoted
// since): its copies carry production's roles until pgd sets the password.
bool came_from_primary(Context& ctx, const std::string& project);
// The password of pgd's superuser sessions with `b`: "" (peer, over the
// private socket) for a following main, else the project's.
Result<std::string> session_password(Context& ctx, const BranchRecord& b);

// Makes a just-promoted copy of a primary's data (`in`, running) the
// project's: records in `branch` (and its record) the primary's last commit
// it replayed (the moment of production it holds), and gives it the
// project's password (a SCRAM verifier, over the private socket).
Status adopt_promoted_copy(Context& ctx, BranchRecord& branch, const Instance& in);

// After a clone of a following main started (crash recovery replays all
// the WAL it holds, as for any branch): records the primary's last commit
// main had replayed when it was cloned (from `points`; the clone holds it and
// anything main had received but not yet replayed), and gives it the
// project's password (the phase "own").
Status adopt_standby_clone(Context& ctx, Timings& t, BranchRecord& branch, const Instance& in,
                           const ClonePoints& points);

// Drops the slot pgd made for the project on its primary, if any; used by
// project delete and by the undo of a failed follow.
Status drop_owned_slot(Context& ctx, const ProjectRecord& project);

}  // namespace pgd
