// The WAL archive of one branch: a directory of segment files that the
// branch's archive_command fills and that PITR's restore_command reads.
//
// The archive command is a small POSIX sh script pgd writes next to its state
// (so the Postgres user can run it wherever the pgd binary lives). It never
// overwrites an existing segment with different content (same content is
// success, as the PostgreSQL docs require for retries), copies to a temporary
// file, fsyncs it, renames it atomically and fsyncs the directory: after a
// crash the archive holds whole segments or none, never a torn one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace pgd::wal {

// The script's text; its arguments are %p, %f and the archive directory.
std::string archive_script();
std::string archive_command(const std::string& script_path, const std::string& archive_dir);
// Reads from the archive, falling back to `fallback_wal_dir` (the source's pg_wal,
// for WAL not yet archived). Exits non-zero for a missing file, as Postgres needs.
std::string restore_command(const std::string& archive_dir, const std::string& fallback_wal_dir);

struct ArchivedFile {
  std::string name;
  uint64_t bytes = 0;
  int64_t mtime_s = 0;
};

}  // namespace pgd::wal
