// Btrfs: volumes are subvolumes, clones are snapshots (constant time, ~10 ms at any size).
//
// New volumes are made no-copy-on-write (chattr +C, inherited by every file
// made in them): database files are then rewritten in place, as on ext4, until
// a snapshot shares them; btrfs copies a shared block once, at its first write
// after the snapshot, so clones stay independent and cheap. Measured: pgbench
// tpcb-like +30-45% (docs/runtime.md). Such files have no btrfs data checksums:
// pgd initializes clusters with PostgreSQL's own (initdb --data-checksums).
#pragma once

#include "storage/directory_backend.h"

namespace pgd {

class BtrfsBackend : public DirectoryBackend {
 public:
  // REQUIRES: `root` is a directory on a mounted btrfs filesystem.
  // CopyOnWrite::Always keeps btrfs's default for new volumes (for comparisons).
  explicit BtrfsBackend(std::string root, CopyOnWrite cow = CopyOnWrite::AfterSnapshotOnly)
      : DirectoryBackend(std::move(root)), m_cow(cow) {}
  std::string kind() const override { return "btrfs"; }
  Status create_volume(const std::string& volume) override;
  Status clone(const std::string& source, const std::string& target, Access access) override;
  Status set_read_only(const std::string& volume) override;
  Status destroy(const std::string& volume) override;
  Result<VolumeUsage> usage(const std::string& volume) override;
  std::map<std::string, VolumeUsage> usage_of(const std::vector<std::string>& volumes) override;
  Result<std::vector<std::string>> list() override;

 private:
  CopyOnWrite m_cow;
};

}  // namespace pgd
