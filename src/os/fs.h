// Filesystem calls pgd makes outside the storage backend. Every function
// reports failures as Errors naming the path and errno's text.
// Thread-safety: none needed (pgd is single-threaded).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace pgd::os {

// Writes temp -> fsync -> rename -> fsync(dir), so readers see old or new, never half.
// `owner` (uid, gid), when given, is applied before the rename.
Status write_file_atomic(const std::string& path, const std::string& content, mode_t mode,
                         std::optional<std::pair<uid_t, gid_t>> owner = std::nullopt);
Result<std::string> read_file(const std::string& path);
bool exists(const std::string& path);
// mkdir -p, then chmod the last component to `mode`.
Status make_dirs(const std::string& path, mode_t mode);
Status change_owner(const std::string& path, uid_t uid, gid_t gid);
// rm -rf; a missing path is success.
Status remove_tree(const std::string& path);
Status remove_file(const std::string& path);  // missing is success
// mkdir(2) of one directory; an existing one is a Conflict.
Status make_dir(const std::string& path, mode_t mode);
// rmdir(2): removes an empty directory.
Status remove_empty_dir(const std::string& path);
// A new file of `size_bytes` that uses no blocks yet; fails if it exists.
Status create_sparse_file(const std::string& path, uint64_t size_bytes);
// rename(2).
Status rename_path(const std::string& from, const std::string& to);
// The names of a directory's entries (not "." or ".."), in no particular order.
Result<std::vector<std::string>> list_names(const std::string& dir);

struct FsUsage {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
};
Result<FsUsage> filesystem_usage(const std::string& path);
bool is_btrfs(const std::string& path);
// "btrfs", "xfs", or "" for any other filesystem holding `path`.
std::string filesystem_kind(const std::string& path);
// True when `path` is the root of a mounted filesystem (per /proc/self/mountinfo).
bool is_mount_point(const std::string& path);
// Absolute, normalized form of `path` (need not exist).
std::string absolute_path(const std::string& path);
// Whether `uid`/`gid` may traverse (x bit) every directory from / down to `path`.
bool can_traverse(const std::string& path, uid_t uid, gid_t gid);

}  // namespace pgd::os

namespace pgd::os {
// Sets the no-copy-on-write attribute (chattr +C) on an empty directory: files
// made in it later inherit it. Fails where the filesystem has no such flag.
Status set_no_cow(const std::string& dir);
// syncfs(2) on the filesystem holding `path`: one flush instead of an fsync per file.
Status sync_filesystem(const std::string& path);
}  // namespace pgd::os
