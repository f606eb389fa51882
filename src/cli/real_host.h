// Host over the real OS (os/) and the pool image code (storage/pool_image.h).
#pragma once

#include "core/host.h"

namespace pgd::cli {

class RealHost : public Host {
 public:
  bool is_root() override;
  os::OsUser current_user() override;
  Result<os::OsUser> lookup_user(const std::string& name) override;
  Result<os::OsUser> ensure_system_user(const std::string& name) override;
  bool can_traverse(const std::string& dir, const os::OsUser& user) override;
  std::string absolute_path(const std::string& path) override;
  bool exists(const std::string& path) override;
  uint64_t file_size(const std::string& path) override;
  bool is_mount_point(const std::string& path) override;
  std::string filesystem_kind(const std::string& path) override;
  Status check_reflink(const std::string& dir) override;
  std::string image_filesystem(const std::string& image) override;
  Status create_image(const std::string& image, uint64_t size_bytes, const std::string& kind) override;
  Status mount_image(const std::string& image, const std::string& mount_point,
                     const std::string& kind) override;
  void use_direct_io(const std::string& mount_point) override;
  Status unmount(const std::string& mount_point) override;
  Result<os::FsUsage> filesystem_usage(const std::string& path) override;
  Result<std::string> tool_version(const std::vector<std::string>& argv) override;
  std::string boot_unit_state() override;
};

}  // namespace pgd::cli
