// An advisory lock (flock) on a file, exclusive or shared, released when the object dies
// or the process does — so a pgd killed with -9 never leaves a lock behind.
#pragma once

#include <string>

#include "base/result.h"
#include "os/unique_fd.h"

namespace pgd::os {

class FileLock {
 public:
  // Waits up to `timeout_ms` for the lock; `what` names it in the error.
  static Result<FileLock> acquire(const std::string& path, const std::string& what, int timeout_ms,
                                  bool shared = false);
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;

 private:
  explicit FileLock(UniqueFd fd) : m_fd(std::move(fd)) {}
  UniqueFd m_fd;  // closing the last descriptor releases the flock
};

}  // namespace pgd::os
