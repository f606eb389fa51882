// An exclusive advisory lock (flock) on a file, released when the object dies
// or the process does — so a pgd killed with -9 never leaves a lock behind.
#pragma once

#include <string>

#include "base/result.h"

namespace pgd::os {

class FileLock {
 public:
  // Waits up to `timeout_ms` for the lock; `what` names it in the error.
  static Result<FileLock> acquire(const std::string& path, const std::string& what, int timeout_ms);
  FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

}  // namespace pgd::os
