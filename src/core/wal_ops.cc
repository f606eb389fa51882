#include "core/wal_ops.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "base/parse.h"
#include "core/branches.h"
#include "core/follow.h"
#include "wal/retention.h"
#include "wal/wal_names.h"

namespace pgd {

Status install_archive_script(os::Files& files, const Paths& paths) {
  std::string want = wal::archive_script();
  auto have = files.read(paths.archive_script());
  if (have && *have == want) return {};
  TRY(files.make_dirs(paths.home + "/bin", 0755));
  return files.write_atomic(paths.archive_script(), want, 0755);
}

Status prepare_archive(Context& ctx, const BranchRecord& b, FreshArchive fresh) {
  TRY(install_archive_script(ctx.files, ctx.paths));
  TRY(ctx.files.make_dirs(ctx.paths.wal_project_dir(b.project), 0711));
  std::string dir = ctx.paths.wal_dir(b.project, b.name);
  if (fresh == FreshArchive::Yes) TRY(ctx.files.remove_tree(dir));
  return ctx.postgres.make_server_dir(dir);
}

std::vector<std::pair<std::string, std::string>> archive_settings(const Paths& paths,
                                                                   const BranchRecord& b) {
  return {{"archive_mode", "on"},
          {"archive_command",
           wal::archive_command(paths.archive_script(), paths.wal_dir(b.project, b.name))}};
}

namespace {

Result<ArchiverStats> archiver_stats(Context& ctx, const BranchRecord& b) {
  TRY_ASSIGN(std::string password, session_password(ctx, b));
  TRY_ASSIGN(auto rows, ctx.postgres.query(
                            instance_for(ctx, b), password,
                            "SELECT archived_count, coalesce(last_archived_wal, ''), "
                            "coalesce(last_archived_time::text, ''), failed_count, "
                            "coalesce(last_failed_wal, ''), coalesce(last_failed_time::text, '') "
                            "FROM pg_stat_archiver"));
  TRY_ASSIGN(auto r, pg::first_row(rows, 6, "pg_stat_archiver"));
  auto archived = parse_number<int64_t>(r[0]), failed = parse_number<int64_t>(r[3]);
  if (!archived || !failed)
    return fail(fmt::format("pg_stat_archiver: unexpected counts '{}', '{}'", r[0], r[3]));
  return ArchiverStats{*archived, r[1], r[2], *failed, r[4], r[5]};
}

// Every finished file in a branch's archive, sorted by name (the archive
// script's in-flight copies start with a dot).
Result<std::vector<wal::ArchivedFile>> archived_files(Context& ctx, const std::string& dir) {
  TRY_ASSIGN(auto files, ctx.files.list_files(dir));
  std::vector<wal::ArchivedFile> out;
  for (const auto& f : files)
    if (!f.name.starts_with(".")) out.push_back({f.name, f.bytes, f.mtime_s});
  return out;
}

}  // namespace

Result<WalInfo> wal_info(Context& ctx, const BranchRecord& b) {
  WalInfo info;
  info.branch = b.full_name();
  info.archive_dir = ctx.paths.wal_dir(b.project, b.name);
  TRY_ASSIGN(auto files, archived_files(ctx, info.archive_dir));
  info.files = files.size();
  for (const auto& f : files) {
    info.bytes += f.bytes;
    if (!wal::parse_segment_name(f.name)) continue;
    ++info.segments;
    if (!info.oldest) info.oldest = f;
    info.newest = f;
  }
  if (ctx.postgres.running_pid(instance_for(ctx, b))) {
    if (auto stats = archiver_stats(ctx, b)) info.archiver = *stats;
  }
  return info;
}

Result<WalCleanup> wal_cleanup(Context& ctx, const BranchRecord& b, int64_t max_age_s,
                               DryRun dry_run) {
  WalCleanup out;
  std::string dir = ctx.paths.wal_dir(b.project, b.name);
  TRY_ASSIGN(auto files, archived_files(ctx, dir));
  TRY_ASSIGN(auto snaps, ctx.store.snapshots(b.project, b.name));
  std::optional<uint64_t> keep_from;
  if (!snaps.empty()) {  // oldest first
    if (auto redo = wal::parse_lsn(snaps.front().redo_lsn)) keep_from = wal::segno_of(*redo);
    else keep_from = 0;  // unreadable: keep everything it might need
    out.kept_for_snapshot = snaps.front().id;
  }
  int64_t cutoff_s = ctx.clock.now_us() / 1'000'000 - max_age_s;
  out.removed = wal::removable_files(files, keep_from, cutoff_s);
  for (const auto& f : out.removed) {
    out.bytes += f.bytes;
    if (dry_run == DryRun::No) TRY(ctx.files.remove_file(dir + "/" + f.name));
  }
  return out;
}

Result<std::string> seal_archive(Context& ctx, const BranchRecord& b) {
  TRY_ASSIGN(std::string password, session_password(ctx, b));
  Instance in = instance_for(ctx, b);
  if (password.empty()) {
    // A following main cannot switch WAL files: its WAL is the primary's. PITR
    // reads what its archive lacks from its pg_wal; its end is what it replayed.
    const char* sql = "SELECT pg_last_wal_replay_lsn()";
    TRY_ASSIGN(auto rows, ctx.postgres.query(in, password, sql));
    TRY_ASSIGN(auto end, pg::first_row(rows, 1, sql));
    return end[0];
  }
  const char* end_sql = "SELECT pg_current_wal_lsn()";
  TRY_ASSIGN(auto end_rows, ctx.postgres.query(in, password, end_sql));
  TRY_ASSIGN(auto end, pg::first_row(end_rows, 1, end_sql));
  TRY(ctx.postgres.query(in, password, "SELECT pg_current_xact_id()"));
  // pg_switch_wal returns a position just past the segment it closed. Its
  // segment is marked .ready synchronously; the archiver removes the mark once
  // the archive command succeeded.
  const char* switch_sql = "SELECT pg_walfile_name(pg_switch_wal() - 1)";
  TRY_ASSIGN(auto rows, ctx.postgres.query(in, password, switch_sql));
  TRY_ASSIGN(auto switched, pg::first_row(rows, 1, switch_sql));
  const std::string& segment = switched[0];
  std::string ready = in.data_dir + "/pg_wal/archive_status/" + segment + ".ready";
  for (int i = 0; i < 3000; ++i) {  // up to 60 s
    if (!ctx.files.exists(ready)) return end[0];
    ctx.processes.sleep_ms(20);
  }
  TRY_ASSIGN(auto stats, archiver_stats(ctx, b));
  return fail(fmt::format("branch '{}': WAL segment {} was not archived within 60 s (archiver: {} "
                          "failures, last failed {}); see the branch log",
                          b.full_name(), segment, stats.failed_count, stats.last_failed_wal));
}

}  // namespace pgd
