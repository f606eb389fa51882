#include "os/fs.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "os/unique_fd.h"

namespace fs = std::filesystem;

namespace pgd::os {
namespace {

Error errno_error(const std::string& op, const std::string& path) {
  return Error{ErrorKind::Failure, fmt::format("{} {}: {}", op, path, std::strerror(errno))};
}

Status write_all(int fd, const std::string& content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error("write", path));
    done += static_cast<size_t>(n);
  }
  return {};
}

Status fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return fail(errno_error("open", dir));
  if (::fsync(fd.get()) != 0) return fail(errno_error("fsync", dir));
  return {};
}

}  // namespace

Status write_file_atomic(const std::string& path, const std::string& content, mode_t mode,
                         std::optional<std::pair<uid_t, gid_t>> owner) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return fail(errno_error("create", tmp));
  auto cleanup = [&](Error e) {
    fd.reset();
    ::unlink(tmp.c_str());  // a leftover temp file is harmless; the error says what failed
    return fail(std::move(e));
  };
  if (::fchmod(fd.get(), mode) != 0) return cleanup(errno_error("chmod", tmp));
  if (owner && ::fchown(fd.get(), owner->first, owner->second) != 0)
    return cleanup(errno_error("chown", tmp));
  if (auto st = write_all(fd.get(), content, tmp); !st) return cleanup(st.error());
  if (::fsync(fd.get()) != 0) return cleanup(errno_error("fsync", tmp));
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("rename", tmp + " -> " + path);
    ::unlink(tmp.c_str());
    return fail(e);
  }
  return fsync_dir(fs::path(path).parent_path().string());
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::NotFound, fmt::format("read {}: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Status make_dirs(const std::string& path, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(fmt::format("mkdir {}: {}", path, ec.message()));
  if (::chmod(path.c_str(), mode) != 0) return fail(errno_error("chmod", path));
  return {};
}

Status change_owner(const std::string& path, uid_t uid, gid_t gid) {
  if (::chown(path.c_str(), uid, gid) != 0) return fail(errno_error("chown", path));
  return {};
}

Status remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return fail(fmt::format("remove {}: {}", path, ec.message()));
  return {};
}

Status remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(errno_error("remove", path));
  return {};
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == EEXIST) return fail(ErrorKind::Conflict, fmt::format("mkdir {}: exists", path));
  return fail(errno_error("mkdir", path));
}

Status remove_empty_dir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) return fail(errno_error("remove", path));
  return {};
}

Status create_sparse_file(const std::string& path, uint64_t size_bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail(errno_error("create", path));
  if (::ftruncate(fd.get(), static_cast<off_t>(size_bytes)) != 0) {
    Error e = errno_error("truncate", path);
    ::unlink(path.c_str());
    return fail(e);
  }
  return {};
}

Status rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return fail(errno_error(fmt::format("rename {} ->", from), to));
  return {};
}

Result<std::vector<std::string>> list_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    names.push_back(entry.path().filename().string());
  if (ec) return fail(fmt::format("list {}: {}", dir, ec.message()));
  return names;
}

Result<FsUsage> filesystem_usage(const std::string& path) {
  struct statvfs sv;
  if (::statvfs(path.c_str(), &sv) != 0) return fail(errno_error("statvfs", path));
  return FsUsage{uint64_t(sv.f_blocks) * sv.f_frsize, uint64_t(sv.f_bavail) * sv.f_frsize};
}

bool is_btrfs(const std::string& path) {
  struct statfs sf;
  return ::statfs(path.c_str(), &sf) == 0 && sf.f_type == BTRFS_SUPER_MAGIC;
}

std::string filesystem_kind(const std::string& path) {
  struct statfs sf;
  if (::statfs(path.c_str(), &sf) != 0) return "";
  if (sf.f_type == BTRFS_SUPER_MAGIC) return "btrfs";
  if (sf.f_type == XFS_SUPER_MAGIC) return "xfs";
  return "";
}

bool is_mount_point(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string want = absolute_path(path);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    if (mount_point == want) return true;
  }
  return false;
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) p = fs::absolute(path).lexically_normal();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool can_traverse(const std::string& path, uid_t uid, gid_t gid) {
  if (uid == 0) return true;
  fs::path p = absolute_path(path);
  for (fs::path cur = p;; cur = cur.parent_path()) {
    struct stat st;
    if (::stat(cur.c_str(), &st) != 0) return false;
    bool ok = st.st_uid == uid   ? (st.st_mode & S_IXUSR)
              : st.st_gid == gid ? (st.st_mode & S_IXGRP)
                                 : (st.st_mode & S_IXOTH);
    if (!ok) return false;
    if (cur == cur.root_path()) return true;
  }
}

}  // namespace pgd::os

namespace pgd::os {
Status sync_filesystem(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(errno_error("open", path));
  if (::syncfs(fd.get()) != 0) return fail(errno_error("syncfs", path));
  return {};
}
Status set_no_cow(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return fail(errno_error("open", dir));
  int flags = 0;
  int rc = ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags);
  if (rc == 0 && !(flags & FS_NOCOW_FL)) {
    flags |= FS_NOCOW_FL;
    rc = ::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags);
  }
  if (rc != 0) return fail(errno_error("chattr +C", dir));
  return {};
}

}  // namespace pgd::os
