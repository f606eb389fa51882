#include "storage/storage_backend.h"

#include <fmt/format.h>

#include "os/fs.h"
#include "storage/btrfs_backend.h"
#include "storage/reflink_backend.h"

namespace pgd {

Status StorageBackend::clone_dir(const std::string& source, const std::string& target,
                                 const std::string& dir) {
  return fail(fmt::format("clone {}/{} -> {}: not needed by {} (its clones are atomic)", source,
                          dir, target, kind()));
}

Result<std::unique_ptr<StorageBackend>> open_storage(const std::string& kind,
                                                     const std::string& root, CopyOnWrite cow) {
  if (kind != "btrfs" && kind != "xfs")
    return fail(ErrorKind::Usage,
                fmt::format("storage kind '{}' is not supported (use btrfs or xfs)", kind));
  if (!os::exists(root))
    return fail(ErrorKind::NotFound,
                fmt::format("storage {}: does not exist; run 'pgd setup' to attach the pool", root));
  if (os::filesystem_kind(root) != kind)
    return fail(fmt::format(
        "storage {}: not a {} filesystem; run 'pgd setup' to attach the pool, or "
        "'pgd setup --dir DIR' with a directory on btrfs or XFS",
        root, kind));
  if (kind == "xfs") return std::unique_ptr<StorageBackend>(std::make_unique<ReflinkBackend>(root));
  return std::unique_ptr<StorageBackend>(std::make_unique<BtrfsBackend>(root, cow));
}

}  // namespace pgd
