// The embedded pool: a sparse image file holding a btrfs or XFS (reflink=1)
// filesystem, loop-mounted with noatime (btrfs also user_subvol_rm_allowed).
// REQUIRES: root for create/mount/unmount (mkfs, mount). Errors name the file
// and mount point.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace pgd {

// Makes a sparse `size_bytes` file at `image` and formats it as `kind`
// ("btrfs" or "xfs"). REQUIRES: `image` does not exist.
Status create_pool_image(const std::string& image, uint64_t size_bytes, const std::string& kind);
// Loop-mounts `image` at `mount_point` (created if missing). The loop device is
// set to auto-clear, so unmounting detaches it.
Status mount_pool_image(const std::string& image, const std::string& mount_point,
                        const std::string& kind);
// Switches the loop device under `mount_point` to direct I/O (why: above use_direct_io in pool_image.cc);
// PGD_LOOP_DIRECT_IO=off keeps buffered I/O. Best effort: never fails.
void use_direct_io(const std::string& mount_point);
Status unmount_pool(const std::string& mount_point);

}  // namespace pgd
