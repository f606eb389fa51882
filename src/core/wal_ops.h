// WAL archiving of branches: the archive directory and command every branch
// gets, `pgd wal info` and `pgd wal cleanup`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/context.h"
#include "wal/archive.h"

namespace pgd {

enum class DryRun { No, Yes };
enum class FreshArchive { No, Yes };

// Writes the archive command script if missing or outdated.
Status install_archive_script(os::Files& files, const Paths& paths);
// Makes the branch's archive directory ready (with Fresh: emptied first, for a
// branch whose WAL history starts now) and the script in place.
Status prepare_archive(Context& ctx, const BranchRecord& branch, FreshArchive fresh);
// The archive settings that go into a branch's pgd.conf.
std::vector<std::pair<std::string, std::string>> archive_settings(const Paths& paths,
                                                                   const BranchRecord& branch);

struct ArchiverStats {
  int64_t archived_count = 0;
  std::string last_archived_wal, last_archived_time;
  int64_t failed_count = 0;
  std::string last_failed_wal, last_failed_time;
};

struct WalInfo {
  std::string branch;  // "prod/main"
  std::string archive_dir;
  size_t files = 0;
  size_t segments = 0;
  uint64_t bytes = 0;
  std::optional<wal::ArchivedFile> oldest, newest;  // segments only
  std::optional<ArchiverStats> archiver;            // when running
};
Result<WalInfo> wal_info(Context& ctx, const BranchRecord& branch);

struct WalCleanup {
  std::vector<wal::ArchivedFile> removed;  // or, with DryRun, would be
  uint64_t bytes = 0;
  std::optional<std::string> kept_for_snapshot;  // id of the oldest snapshot protected
};
// Deletes archived segments older than `max_age_s` seconds that no retained snapshot needs.
Result<WalCleanup> wal_cleanup(Context& ctx, const BranchRecord& branch, int64_t max_age_s,
                               DryRun dry_run);

// Makes a running branch's archive cover every commit made until now: commits
// an empty transaction (a commit record later than any target up to now, which
// a time target needs to be seen as reached), switches to a new WAL segment and
// waits until the archiver has stored the closed one. Returns the WAL position
// before the marker.
Result<std::string> seal_archive(Context& ctx, const BranchRecord& branch);

}  // namespace pgd
