// File-by-file copy-on-write clones (FICLONE) and their block accounting
// (FIEMAP): the syscalls behind the reflink (XFS) storage backend.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/result.h"

namespace pgd::os {

// How cloned entries' permission bits change: cleared, then added.
struct ModeChange {
  mode_t clear = 0;
  mode_t add = 0;
  mode_t apply(mode_t mode) const { return ((mode & 07777) & ~clear) | add; }
};

// Clones the tree at `from` into `to` (which must not exist), keeping owners
// and modes (changed by `change`). Sockets and FIFOs are not data: skipped; a
// file that vanishes meanwhile (a running server's temp file) too.
Status clone_tree(const std::string& from, const std::string& to, ModeChange change);
// Applies `change` to every file and directory under `root` (symlinks keep theirs).
Status change_modes(const std::string& root, ModeChange change);

struct ExtentUsage {
  uint64_t total_bytes = 0;
  uint64_t exclusive_bytes = 0;  // in extents no other file shares
};
// Adds the extents of every regular file under `root` to `usage`.
Status add_tree_usage(const std::string& root, ExtentUsage& usage);

// Whether files in `dir` can be cloned; the error says how to get reflink.
Status check_reflink(const std::string& dir);

}  // namespace pgd::os
