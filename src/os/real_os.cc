// RealFiles and RealProcesses: the interfaces over os/fs.h, os/file_lock.h and os/process.h.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "os/file_lock.h"
#include "os/files.h"
#include "os/fs.h"
#include "os/interrupts.h"
#include "os/process.h"

namespace pgd::os {
namespace {

class RealLock : public Lock {
 public:
  explicit RealLock(FileLock lock) : m_lock(std::move(lock)) {}

 private:
  FileLock m_lock;
};

}  // namespace

Status RealFiles::write_atomic(const std::string& path, const std::string& content, mode_t mode,
                               std::optional<Owner> owner) {
  return write_file_atomic(path, content, mode, owner);
}
Result<std::string> RealFiles::read(const std::string& path) { return read_file(path); }
bool RealFiles::exists(const std::string& path) { return os::exists(path); }
Result<Owner> RealFiles::owner(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return fail(fmt::format("stat {}: {}", path, std::strerror(errno)));
  return Owner{st.st_uid, st.st_gid};
}
Result<mode_t> RealFiles::mode(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return fail(fmt::format("stat {}: {}", path, std::strerror(errno)));
  return st.st_mode & 07777;
}
Status RealFiles::make_dirs(const std::string& path, mode_t mode) { return os::make_dirs(path, mode); }
Status RealFiles::remove_tree(const std::string& path) { return os::remove_tree(path); }
Status RealFiles::remove_file(const std::string& path) { return os::remove_file(path); }
Status RealFiles::rename(const std::string& from, const std::string& to) {
  if (os::exists(to)) return fail(ErrorKind::Conflict, fmt::format("rename {} -> {}: the target exists", from, to));
  return os::rename_path(from, to);
}
Result<std::vector<std::string>> RealFiles::list_names(const std::string& dir) {
  return os::list_names(dir);
}
Result<std::vector<FileInfo>> RealFiles::list_files(const std::string& dir) {
  std::vector<FileInfo> out;
  if (!os::exists(dir)) return out;
  TRY_ASSIGN(auto names, os::list_names(dir));
  for (const auto& name : names) {
    struct stat st{};
    // Gone since the listing (an archive being cleaned up): not there.
    if (::stat((dir + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({name, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

Result<std::unique_ptr<Lock>> RealFiles::lock(const std::string& path, const std::string& what,
                                              int timeout_ms, LockMode mode) {
  TRY_ASSIGN(FileLock lock, FileLock::acquire(path, what, timeout_ms, mode == LockMode::Shared));
  return std::unique_ptr<Lock>(std::make_unique<RealLock>(std::move(lock)));
}

pid_t RealProcesses::self() { return ::getpid(); }
bool RealProcesses::alive(pid_t pid) { return process_alive(pid); }
std::string RealProcesses::name(pid_t pid) { return process_name(pid); }
Status RealProcesses::signal(pid_t pid, int signal) { return send_signal(pid, signal); }
int RealProcesses::interrupted() { return interrupt_signal(); }
void RealProcesses::sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace pgd::os
