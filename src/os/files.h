// The filesystem as core sees it, behind an interface (LevelDB's Env, ninja's
// DiskInterface): RealFiles makes the syscalls, tests use an in-memory fake
// (tests/support/fake_os.h), so every use case and rollback has a unit test.
// Errors name the path and errno's text. Thread-safety: none needed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace pgd::os {

using Owner = std::pair<uid_t, gid_t>;

struct FileInfo {
  std::string name;
  uint64_t bytes = 0;
  int64_t mtime_s = 0;
};

// Held until destroyed (or the process dies: a pgd killed with -9 leaves no lock).
class Lock {
 public:
  virtual ~Lock() = default;
};

// Exclusive: one holder. Shared: any number of holders while nobody holds it
// exclusively (flock's LOCK_SH).
enum class LockMode { Exclusive, Shared };

class Files {
 public:
  virtual ~Files() = default;
  // temp -> fsync -> rename -> fsync(dir): readers see old or new, never half.
  virtual Status write_atomic(const std::string& path, const std::string& content, mode_t mode,
                              std::optional<Owner> owner = std::nullopt) = 0;
  virtual Result<std::string> read(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual Result<Owner> owner(const std::string& path) = 0;
  virtual Result<mode_t> mode(const std::string& path) = 0;  // permission bits
  // mkdir -p, then chmod the last component to `mode`.
  virtual Status make_dirs(const std::string& path, mode_t mode) = 0;
  virtual Status remove_tree(const std::string& path) = 0;  // missing is success
  virtual Status remove_file(const std::string& path) = 0;  // missing is success
  // rename(2) of a file or a directory tree; the target must not exist.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // A directory's entries (not "." or ".."), in no particular order.
  virtual Result<std::vector<std::string>> list_names(const std::string& dir) = 0;
  // The regular files in `dir` with their sizes and times, sorted by name; a
  // missing directory has none.
  virtual Result<std::vector<FileInfo>> list_files(const std::string& dir) = 0;
  // A lock on `path`, waiting up to `timeout_ms`; `what` names it in the error
  // ("project 'shop' is busy: ...", ErrorKind::Conflict).
  virtual Result<std::unique_ptr<Lock>> lock(const std::string& path, const std::string& what,
                                             int timeout_ms, LockMode mode = LockMode::Exclusive) = 0;
};

// The real filesystem (os/fs.h, os/file_lock.h).
class RealFiles : public Files {
 public:
  Status write_atomic(const std::string& path, const std::string& content, mode_t mode,
                      std::optional<Owner> owner) override;
  Result<std::string> read(const std::string& path) override;
  bool exists(const std::string& path) override;
  Result<Owner> owner(const std::string& path) override;
  Result<mode_t> mode(const std::string& path) override;
  Status make_dirs(const std::string& path, mode_t mode) override;
  Status remove_tree(const std::string& path) override;
  Status remove_file(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Result<std::vector<std::string>> list_names(const std::string& dir) override;
  Result<std::vector<FileInfo>> list_files(const std::string& dir) override;
  Result<std::unique_ptr<Lock>> lock(const std::string& path, const std::string& what,
                                     int timeout_ms, LockMode mode = LockMode::Exclusive) override;
};

}  // namespace pgd::os
