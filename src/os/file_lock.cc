#include "os/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "os/clock.h"

namespace pgd::os {

Result<FileLock> FileLock::acquire(const std::string& path, const std::string& what, int timeout_ms) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(fmt::format("lock {}: {}", path, std::strerror(errno)));
  auto started = std::chrono::steady_clock::now();
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int saved = errno;
      ::close(fd);
      return fail(fmt::format("lock {}: {}", path, std::strerror(saved)));
    }
    if (elapsed_ms(started) > timeout_ms) {
      ::close(fd);
      return fail(ErrorKind::Conflict,
                  fmt::format("{} is busy: another pgd command has held it for {} s; try again",
                              what, timeout_ms / 1000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(m_fd);  // closing the last descriptor releases the flock
}

}  // namespace pgd::os
