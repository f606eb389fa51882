// Reflink (XFS): volumes are plain directories, clones share every file's
// blocks through FICLONE and copy a block at its first write. Database files are
// then rewritten in place, as on ext4, which is why branches run at ext4's speed
// (docs/runtime.md). The price: a clone is made file by file, so it is not a
// point in time (atomic_clone() is false; core brackets it with pg_backup_start
// and pg_backup_stop), and its time grows with the source's extent count.
//
// Read-only volumes (snapshots) have every write permission bit cleared: the
// Postgres user cannot change them; a writable clone of one gives the owner
// write permission back (a data directory's files are all owner-writable).
#pragma once

#include "storage/directory_backend.h"

namespace pgd {

class ReflinkBackend : public DirectoryBackend {
 public:
  // REQUIRES: `root` is a directory on a filesystem with reflink support.
  explicit ReflinkBackend(std::string root) : DirectoryBackend(std::move(root)) {}
  std::string kind() const override { return "xfs"; }
  Status create_volume(const std::string& volume) override;
  Status clone(const std::string& source, const std::string& target, Access access) override;
  bool atomic_clone() const override { return false; }
  Status clone_dir(const std::string& source, const std::string& target,
                   const std::string& dir) override;
  Status set_read_only(const std::string& volume) override;
  Status destroy(const std::string& volume) override;
  Result<VolumeUsage> usage(const std::string& volume) override;
  Result<std::vector<std::string>> list() override;
};

}  // namespace pgd
