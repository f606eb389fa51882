#include "storage/storage_backend.h"

#include <filesystem>

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

Result<std::vector<std::string>> list_volumes(const std::string& root,
                                              const std::function<bool(const std::string&)>& is_volume) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& group : fs::directory_iterator(root, ec)) {
    if (!group.is_directory() || group.path().filename().string().starts_with(".")) continue;
    for (const auto& vol : fs::directory_iterator(group.path(), ec)) {
      if (vol.is_directory() && !vol.is_symlink() && is_volume(vol.path().string()))
        out.push_back(group.path().filename().string() + "/" + vol.path().filename().string());
    }
  }
  if (ec) return fail(fmt::format("list {}: {}", root, ec.message()));
  return out;
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
