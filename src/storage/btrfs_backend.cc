#include "storage/btrfs_backend.h"

#include <btrfsutil.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "os/fs.h"
#include "os/process.h"

namespace fs = std::filesystem;

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

bool BtrfsBackend::exists(const std::string& volume) const { return os::exists(path(volume)); }

Status BtrfsBackend::make_parent(const std::string& volume) {
  std::string parent = fs::path(path(volume)).parent_path().string();
  if (os::exists(parent)) return {};
  return os::make_dirs(parent, 0755);
}

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

Status BtrfsBackend::rename(const std::string& from, const std::string& to) {
  std::string a = path(from), b = path(to);
  if (os::exists(b)) return fail(ErrorKind::Conflict, fmt::format("rename {} -> {}: target exists", a, b));
  if (::rename(a.c_str(), b.c_str()) != 0)
    return fail(fmt::format("rename {} -> {}: {}", a, b, std::strerror(errno)));
  return {};
}

Status BtrfsBackend::destroy(const std::string& volume) {
  std::string p = path(volume);
  if (!os::exists(p)) return {};
  if (!is_subvolume(p)) {
    if (::rmdir(p.c_str()) != 0)
      return fail(fmt::format("remove {}: {}", p, std::strerror(errno)));
    return {};
  }
  // A read-only snapshot must be made writable before a non-root user may delete it.
  btrfs_util_set_subvolume_read_only(p.c_str(), false);
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

Result<uint64_t> BtrfsBackend::free_bytes() {
  TRY_ASSIGN(os::FsUsage usage, os::filesystem_usage(m_root));
  return usage.free_bytes;
}

Result<std::vector<std::string>> BtrfsBackend::list() {
  return list_volumes(m_root, [](const std::string& dir) { return is_subvolume(dir); });
}

}  // namespace pgd
