#include "core/clone.h"

#include <functional>

#include <fmt/format.h>

#include "base/scope_guard.h"
#include "core/follow.h"
#include "wal/wal_names.h"

namespace pgd {
namespace {

// PostgreSQL 15 renamed the non-exclusive backup functions.
std::string backup_start_sql(int pg_version) {
  return pg_version >= 15 ? "SELECT pg_backup_start('pgd clone', true)"
                          : "SELECT pg_start_backup('pgd clone', true, false)";
}

std::string backup_stop_sql(int pg_version) {
  // wait_for_archive => false: the clone gets its WAL from pg_wal, not the archive.
  return pg_version >= 15 ? "SELECT lsn, labelfile FROM pg_backup_stop(false)"
                          : "SELECT lsn, labelfile FROM pg_stop_backup(false, false)";
}

// Every segment from the backup's start to its end must be in the clone's
// pg_wal: a source that recycled one meanwhile would make the clone useless.
Status check_backup_wal(os::Files& files, const std::string& data_dir, const std::string& label,
                        const std::string& end_lsn) {
  auto needed = wal::backup_segments(label, end_lsn);
  if (needed.empty())
    return fail(fmt::format("{}: unexpected backup label or end LSN '{}'", data_dir, end_lsn));
  for (const auto& name : needed)
    if (!files.exists(data_dir + "/pg_wal/" + name))
      return fail(fmt::format("{}: WAL segment {} that the clone needs was recycled by the "
                              "source while it was cloned (heavy writes); try again",
                              data_dir, name));
  return {};
}

// backup_label belongs to the Postgres user, like the rest of the data directory.
Status write_backup_label(os::Files& files, const std::string& data_dir, const std::string& label) {
  TRY_ASSIGN(os::Owner owner, files.owner(data_dir));
  return files.write_atomic(data_dir + "/backup_label", label, 0600, owner);
}

// Removes the clone's recycled WAL segments (wal::recycled_segments), given an
// LSN at or past the end of the WAL it holds. They share their blocks with the
// source's files, so a branch writing into one copies blocks on first write, and
// on XFS every commit's fdatasync then also forces the log for the remapping.
// Measured (tpcb-like, scale 100, XFS): 64-75% of ext4's TPS with them, 93-96%
// without. The branch zero-fills segments of its own instead, as a new cluster
// does. (The one or two segments it recycles from before its redo point stay
// shared: a short cost that keeps an idle branch small.)
// An unreadable LSN removes nothing.
Status drop_recycled_wal(os::Files& files, const std::string& data_dir, const std::string& end_lsn) {
  std::string dir = data_dir + "/pg_wal";
  auto end = wal::parse_lsn(end_lsn);
  if (!end || !files.exists(dir)) return {};  // not a data directory: its start will say so
  TRY_ASSIGN(auto names, files.list_names(dir));
  for (const auto& name : wal::recycled_segments(names, *end)) TRY(files.remove_file(dir + "/" + name));
  return {};
}

// The same for a clone of a stopped source, whose WAL ends with its shutdown
// checkpoint. After a crash the WAL's end is not recorded: nothing is removed.
Status drop_recycled_wal_of_stopped(Context& ctx, const BranchRecord& source,
                                  const std::string& target) {
  Instance clone = instance_for(ctx, source);
  clone.data_dir = ctx.storage.path(target);
  TRY_ASSIGN(auto control, ctx.postgres.control_data(clone));
  if (control["Database cluster state"] != "shut down") return {};
  return drop_recycled_wal(ctx.files, clone.data_dir, control["Latest checkpoint location"]);
}

}  // namespace

Result<ClonePoints> last_checkpoint(Context& ctx, const Instance& stopped) {
  TRY_ASSIGN(auto control, ctx.postgres.control_data(stopped));
  return ClonePoints{control["Latest checkpoint's REDO location"], control["Latest checkpoint location"]};
}

Status own_wal_history(Context& ctx, const std::string& data_dir, const std::string& redo_lsn) {
  auto redo = wal::parse_lsn(redo_lsn);
  std::string status_dir = data_dir + "/pg_wal/archive_status";
  if (!redo || !ctx.files.exists(status_dir)) return {};
  TRY_ASSIGN(auto names, ctx.files.list_names(status_dir));
  for (const auto& name : names) {
    if (!name.ends_with(".done")) continue;
    auto segment = wal::parse_segment_name(name.substr(0, name.size() - 5));
    if (segment && segment->segno >= wal::segno_of(*redo)) TRY(ctx.files.remove_file(status_dir + "/" + name));
  }
  return {};
}

void destroy_clone(Context& ctx, const std::string& volume) {
  os::DeferInterrupts finish_the_undo;
  warn_if_failed(ctx, ctx.storage.destroy(volume), "removing the half-made clone " + ctx.storage.path(volume));
}

namespace {

// Clones to `target` read-write, runs `finish` on the clone, then makes it
// read-only if `access` asks for it; on failure nothing is left at `target`.
Status clone_then(Context& ctx, const std::string& volume, const std::string& target,
                  Access access, const std::function<Status()>& finish) {
  TRY(ctx.storage.clone(volume, target, Access::ReadWrite));
  ScopeGuard undo([&] { destroy_clone(ctx, target); });
  TRY(finish());
  if (access == Access::ReadOnly) TRY(ctx.storage.set_read_only(target));
  undo.dismiss();
  return {};
}

// A superuser session on the running source.
Result<std::unique_ptr<pg::Session>> source_session(Context& ctx, const BranchRecord& source) {
  TRY_ASSIGN(std::string password, session_password(ctx, source));
  return ctx.postgres.connect(instance_for(ctx, source), password);
}

// Records the step "cloned"; if that fails, the clone goes too.
Status record_cloned(Context& ctx, Operation& op, const std::string& target) {
  ScopeGuard undo([&] { destroy_clone(ctx, target); });
  TRY(op.step("cloned"));
  undo.dismiss();
  return {};
}

// The last checkpoint's REDO point, and whether a CHECKPOINT would gain the clone
// nothing: every WAL record inserted so far is flushed (so every commit that
// returned is on disk, even with synchronous_commit = off) and the REDO point is
// at most 64 KiB behind, so the clone's crash recovery replays next to nothing
// either way. Such a source is idle ('t'); skipping saves ~5 ms of an idle
// branch's ~100 (a CHECKPOINT always writes a checkpoint record, fsyncs WAL and
// pg_control). A standby (a following main) has no insert position: it is idle
// when it replayed at most 64 KiB since its REDO point, else ('s') its
// CHECKPOINT is a restartpoint, which moves the clone's replay start up to the
// last checkpoint record it replayed.
constexpr char k_idle_source_sql[] =
    "SELECT redo_lsn, CASE WHEN pg_is_in_recovery() THEN CASE WHEN "
    "pg_wal_lsn_diff(pg_last_wal_replay_lsn(), redo_lsn) <= 65536 THEN 't' ELSE 's' END WHEN "
    "pg_wal_lsn_diff(pg_current_wal_flush_lsn(), pg_current_wal_insert_lsn()) >= 0 AND "
    "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn) <= 65536 THEN 't' ELSE 'f' END "
    "FROM pg_control_checkpoint()";

// Read after a clone: [0] bounds every commit it holds, [1] is at or past the
// end of every WAL record in its pg_wal (a standby's: what it received), [2]
// on a standby the primary's last commit it had replayed (the clone holds it).
constexpr char k_wal_end_sql[] =
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, "
    "CASE WHEN pg_is_in_recovery() THEN greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) "
    "ELSE pg_current_wal_insert_lsn() END, "
    "CASE WHEN pg_is_in_recovery() THEN coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE "
    "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '') ELSE '' END";

// A clone of a running source, on one session: `prepare` (the "checkpoint"
// phase) returns where the clone's replay starts; `finish` runs on the clone
// before it is made read-only, and fills in where its WAL ends.
using Prepare = std::function<Result<std::string>(pg::Session&)>;
using Finish = std::function<Status(pg::Session&, ClonePoints&)>;
Result<ClonePoints> clone_online(Context& ctx, Timings& t, const std::string& subject,
                                 const BranchRecord& source, const std::string& target,
                                 Access access, Operation& op, const Prepare& prepare,
                                 const Finish& finish) {
  std::unique_ptr<pg::Session> session;
  TRY(timed(ctx, t, subject, "connect", [&]() -> Status {
    TRY_ASSIGN(session, source_session(ctx, source));
    return {};
  }));
  ClonePoints points;
  TRY(timed(ctx, t, subject, "checkpoint", [&]() -> Status {
    TRY_ASSIGN(points.redo_lsn, prepare(*session));
    return {};
  }));
  TRY(op.step("checkpointed"));
  TRY(timed(ctx, t, subject, "snapshot", [&] {
    return clone_then(ctx, source.volume, target, access, [&] { return finish(*session, points); });
  }));
  TRY(record_cloned(ctx, op, target));
  return points;
}

// An atomic snapshot after a CHECKPOINT (skipped when the source is idle).
Result<ClonePoints> clone_with_checkpoint(Context& ctx, Timings& t, const std::string& subject,
                                          const BranchRecord& source, const std::string& target,
                                          Access access, Operation& op) {
  auto checkpoint = [](pg::Session& session) -> Result<std::string> {
    TRY_ASSIGN(auto idle, session.query_row(k_idle_source_sql, 2));
    if (idle[1] == "t") return idle[0];
    TRY(session.exec("CHECKPOINT"));
    TRY_ASSIGN(auto redo, session.query_row("SELECT redo_lsn FROM pg_control_checkpoint()", 1));
    return redo[0];
  };
  auto finish = [&](pg::Session& session, ClonePoints& points) -> Status {
    TRY_ASSIGN(auto lsns, session.query_row(k_wal_end_sql, 3));
    points.end_lsn = lsns[0];
    points.replayed_commit = lsns[2];
    return drop_recycled_wal(ctx.files, ctx.storage.path(target), lsns[1]);
  };
  return clone_online(ctx, t, subject, source, target, access, op, checkpoint, finish);
}

// A file-by-file clone inside pg_backup_start/stop, with pg_wal cloned again
// after the stop and the backup label written into the clone.
Result<ClonePoints> clone_during_backup(Context& ctx, Timings& t, const std::string& subject,
                                        const BranchRecord& source, const std::string& target,
                                        Access access, Operation& op) {
  auto start = [&](pg::Session& session) -> Result<std::string> {
    TRY_ASSIGN(auto row, session.query_row(backup_start_sql(source.pg_version), 1));
    return row[0];
  };
  auto finish = [&](pg::Session& session, ClonePoints& points) -> Status {
    TRY_ASSIGN(auto stop, session.query_row(backup_stop_sql(source.pg_version), 2));
    points.end_lsn = stop[0];
    const std::string& label = stop[1];
    TRY(ctx.storage.clone_dir(source.volume, target, "pg_wal"));
    std::string data_dir = ctx.storage.path(target);
    TRY(check_backup_wal(ctx.files, data_dir, label, points.end_lsn));
    TRY(write_backup_label(ctx.files, data_dir, label));
    // Read after pg_wal's second clone: past the end of every record it holds.
    TRY_ASSIGN(auto insert, session.query_row(k_wal_end_sql, 3));
    points.replayed_commit = insert[2];
    return drop_recycled_wal(ctx.files, data_dir, insert[1]);
  };
  return clone_online(ctx, t, subject, source, target, access, op, start, finish);
}

}  // namespace

Result<ClonePoints> clone_branch_data(Context& ctx, Timings& timings, const std::string& subject,
                                      const BranchRecord& source, const std::string& target,
                                      Access access, Operation& op) {
  if (ctx.postgres.running_pid(instance_for(ctx, source))) {
    if (ctx.storage.atomic_clone())
      return clone_with_checkpoint(ctx, timings, subject, source, target, access, op);
    return clone_during_backup(ctx, timings, subject, source, target, access, op);
  }
  // A stopped source is consistent on disk: nothing to flush.
  TRY(timed(ctx, timings, subject, "checkpoint", [] { return Status{}; }));
  TRY(op.step("checkpointed"));
  TRY(timed(ctx, timings, subject, "snapshot", [&] {
    return clone_then(ctx, source.volume, target, access,
                      [&] { return drop_recycled_wal_of_stopped(ctx, source, target); });
  }));
  TRY(record_cloned(ctx, op, target));
  return ClonePoints{};
}

}  // namespace pgd
