#include "storage/btrfs_backend.h"

#include <btrfsutil.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "os/fs.h"
#include "os/process.h"

namespace pgd {
namespace {

// libbtrfsutil reports its own code plus errno; both help.
Error btrfs_error(const std::string& op, btrfs_util_error err) {
  int saved = errno;
  std::string cause = saved ? std::strerror(saved) : btrfs_util_strerror(err);
  ErrorKind kind = saved == ENOENT ? ErrorKind::NotFound : ErrorKind::Failure;
  return Error{kind, fmt::format("btrfs {}: {}", op, cause)};
}

bool is_subvolume(const std::string& path) {
  return btrfs_util_is_subvolume(path.c_str()) == BTRFS_UTIL_OK;
}

}  // namespace

Status BtrfsBackend::create_volume(const std::string& volume) {
  TRY(make_parent(volume));
  std::string p = path(volume);
  errno = 0;
  auto err = btrfs_util_create_subvolume(p.c_str(), 0, nullptr, nullptr);
  if (err != BTRFS_UTIL_OK) return fail(btrfs_error("subvolume create " + p, err));
  if (m_cow == CopyOnWrite::Always) return {};
  Status st = os::set_no_cow(p);
  if (!st) return fail(with_undo(st.error(), destroy(volume), "removing the new subvolume " + p));
  return {};
}

Status BtrfsBackend::clone(const std::string& source, const std::string& target, Access access) {
  TRY(make_parent(target));
  std::string from = path(source), to = path(target);
  int flags = access == Access::ReadOnly ? BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY : 0;
  errno = 0;
  auto err = btrfs_util_create_snapshot(from.c_str(), to.c_str(), flags, nullptr, nullptr);
  if (err != BTRFS_UTIL_OK)
    return fail(btrfs_error(fmt::format("snapshot {} -> {}", from, to), err));
  return {};
}

Status BtrfsBackend::set_read_only(const std::string& volume) {
  std::string p = path(volume);
  errno = 0;
  auto err = btrfs_util_set_subvolume_read_only(p.c_str(), true);
  if (err != BTRFS_UTIL_OK) return fail(btrfs_error("set read-only " + p, err));
  return {};
}

Status BtrfsBackend::destroy(const std::string& volume) {
  std::string p = path(volume);
  if (!os::exists(p)) return {};
  if (!is_subvolume(p)) {
    return os::remove_empty_dir(p);
  }
  // A read-only snapshot must be made writable before a non-root user may
  // delete it; if that fails, the delete below fails and says why.
  (void)btrfs_util_set_subvolume_read_only(p.c_str(), false);
  errno = 0;
  auto err = btrfs_util_delete_subvolume(p.c_str(), 0);
  if (err == BTRFS_UTIL_OK) return {};
  if (errno != EPERM) return fail(btrfs_error("subvolume delete " + p, err));
  // Without user_subvol_rm_allowed an unprivileged user can only empty it and rmdir.
  TRY(os::remove_tree(p));
  return {};
}

Result<VolumeUsage> BtrfsBackend::usage(const std::string& volume) {
  TRY_ASSIGN(std::string out, os::run_checked({"btrfs", "filesystem", "du", "-s", "--raw",
                                               path(volume)}));
  // "Total Exclusive Set-shared Filename" header, then one row.
  std::istringstream in(out);
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  std::istringstream row(line);
  uint64_t total = 0, exclusive = 0;
  if (!(row >> total >> exclusive))
    return fail(fmt::format("btrfs filesystem du {}: unexpected output: {}", path(volume), out));
  return VolumeUsage{total, exclusive};
}

// One `btrfs filesystem du` for all: it walks each volume's extents once.
std::map<std::string, VolumeUsage> BtrfsBackend::usage_of(const std::vector<std::string>& volumes) {
  std::map<std::string, VolumeUsage> out;
  std::vector<std::string> argv{"btrfs", "filesystem", "du", "-s", "--raw"};
  std::map<std::string, std::string> by_path;
  for (const auto& v : volumes) {
    if (!exists(v)) continue;
    argv.push_back(path(v));
    by_path[path(v)] = v;
  }
  if (by_path.empty()) return out;
  auto r = os::run(argv);
  if (!r) return out;
  std::istringstream in(r->output);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream row(line);
    uint64_t total = 0, exclusive = 0;
    std::string shared, name;
    if (!(row >> total >> exclusive >> shared) || !std::getline(row >> std::ws, name)) continue;
    if (auto it = by_path.find(name); it != by_path.end()) out[it->second] = {total, exclusive};
  }
  return out;
}

Result<std::vector<std::string>> BtrfsBackend::list() {
  return list_volumes(root(), [](const std::string& dir) { return is_subvolume(dir); });
}

}  // namespace pgd
