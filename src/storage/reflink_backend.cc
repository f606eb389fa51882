#include "storage/reflink_backend.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "os/fs.h"
#include "os/reflink.h"

namespace pgd {

Status ReflinkBackend::create_volume(const std::string& volume) {
  TRY(make_parent(volume));
  std::string p = path(volume);
  return os::make_dir(p, 0755);
}

Status ReflinkBackend::clone(const std::string& source, const std::string& target, Access access) {
  TRY(make_parent(target));
  std::string from = path(source), to = path(target);
  if (!os::exists(from)) return fail(ErrorKind::NotFound, fmt::format("clone {}: no such volume", from));
  if (os::exists(to)) return fail(ErrorKind::Conflict, fmt::format("clone {} -> {}: target exists", from, to));
  os::ModeChange change = access == Access::ReadOnly ? os::ModeChange{0222, 0} : os::ModeChange{0, S_IWUSR};
  Status st = os::clone_tree(from, to, change);
  if (!st)
    return fail(with_undo(st.error().wrap(fmt::format("clone {} -> {}", from, to)), destroy(target),
                          "removing the half-made clone " + to));
  return {};
}

Status ReflinkBackend::clone_dir(const std::string& source, const std::string& target,
                                 const std::string& dir) {
  std::string from = path(source) + "/" + dir, to = path(target) + "/" + dir;
  TRY(os::remove_tree(to));
  return os::clone_tree(from, to, os::ModeChange{0, S_IWUSR});
}

Status ReflinkBackend::set_read_only(const std::string& volume) {
  return os::change_modes(path(volume), os::ModeChange{0222, 0});
}

Status ReflinkBackend::destroy(const std::string& volume) {
  std::string p = path(volume);
  if (!os::exists(p)) return {};
  if (os::remove_tree(p)) return {};
  // A read-only volume's directories must be writable before a non-root owner can empty them.
  TRY(os::change_modes(p, os::ModeChange{0, S_IWUSR}));
  return os::remove_tree(p);
}

Result<VolumeUsage> ReflinkBackend::usage(const std::string& volume) {
  os::ExtentUsage extents;
  TRY(os::add_tree_usage(path(volume), extents));
  return VolumeUsage{extents.total_bytes, extents.exclusive_bytes};
}

Result<std::vector<std::string>> ReflinkBackend::list() {
  return list_volumes(root(), [](const std::string&) { return true; });
}

}  // namespace pgd
