// What setting up a pool asks of the machine: users, mounts, pool images,
// filesystems. An interface so setup's every branch has a unit test
// (tests/support/fake_host.h); cli/real_host.cc asks the real OS.
// Thread-safety: none needed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "os/fs.h"
#include "os/process.h"

namespace pgd {

class Host {
 public:
  virtual ~Host() = default;
  virtual bool is_root() = 0;
  virtual os::OsUser current_user() = 0;
  virtual Result<os::OsUser> lookup_user(const std::string& name) = 0;
  // Creates a system account with no login shell and no home, if missing. REQUIRES: root.
  virtual Result<os::OsUser> ensure_system_user(const std::string& name) = 0;
  // Whether `user` may traverse (x bit) every directory from / down to `dir`.
  virtual bool can_traverse(const std::string& dir, const os::OsUser& user) = 0;
  virtual std::string absolute_path(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual uint64_t file_size(const std::string& path) = 0;  // 0 when unreadable
  virtual bool is_mount_point(const std::string& path) = 0;
  // "btrfs", "xfs", or "" for any other filesystem holding `path`.
  virtual std::string filesystem_kind(const std::string& path) = 0;
  // Whether reflink copies work in `dir` (XFS needs reflink=1).
  virtual Status check_reflink(const std::string& dir) = 0;
  // The filesystem an image file holds, as blkid reads it ("btrfs" when unknown).
  virtual std::string image_filesystem(const std::string& image) = 0;
  virtual Status create_image(const std::string& image, uint64_t size_bytes,
                              const std::string& kind) = 0;
  virtual Status mount_image(const std::string& image, const std::string& mount_point,
                             const std::string& kind) = 0;
  // Best effort: a loop device that cannot switch keeps buffered I/O.
  virtual void use_direct_io(const std::string& mount_point) = 0;
  virtual Status unmount(const std::string& mount_point) = 0;
  // Total and free bytes of the filesystem holding `path`.
  virtual Result<os::FsUsage> filesystem_usage(const std::string& path) = 0;
  // The first line a tool prints when asked for its version (`argv`, e.g.
  // {"btrfs", "--version"}); an error when it cannot run or fails.
  virtual Result<std::string> tool_version(const std::vector<std::string>& argv) = 0;
  // What systemd says of pgd's boot unit: "enabled", "disabled", "not-found",
  // or "" when systemd does not run here (containers, chroots).
  virtual std::string boot_unit_state() = 0;
};

}  // namespace pgd
