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
#include "os/interrupts.h"

namespace pgd::os {

Result<FileLock> FileLock::acquire(const std::string& path, const std::string& what, int timeout_ms,
                                   bool shared) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail(fmt::format("lock {}: {}", path, std::strerror(errno)));
  auto started = std::chrono::steady_clock::now();
  while (::flock(fd.get(), (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return fail(fmt::format("lock {}: {}", path, std::strerror(errno)));
    if (int s = interrupt_signal())
      return fail(ErrorKind::Interrupted, fmt::format("interrupted by {} while waiting for {}", signal_name(s), what));
    if (elapsed_ms(started) > timeout_ms) {
      return fail(ErrorKind::Conflict,
                  fmt::format("{} is busy: another pgd command has held it for {} s; try again",
                              what, timeout_ms / 1000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return FileLock(std::move(fd));
}

}  // namespace pgd::os
