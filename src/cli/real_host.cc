#include "cli/real_host.h"

#include <filesystem>

#include "base/strings.h"
#include "os/fs.h"
#include "storage/pool_image.h"
#include "os/reflink.h"

namespace pgd::cli {

bool RealHost::is_root() { return os::running_as_root(); }
os::OsUser RealHost::current_user() { return os::current_user(); }
Result<os::OsUser> RealHost::lookup_user(const std::string& name) { return os::lookup_user(name); }
Result<os::OsUser> RealHost::ensure_system_user(const std::string& name) {
  return os::ensure_system_user(name);
}
bool RealHost::can_traverse(const std::string& dir, const os::OsUser& user) {
  return os::can_traverse(dir, user.uid, user.gid);
}
std::string RealHost::absolute_path(const std::string& path) { return os::absolute_path(path); }
bool RealHost::exists(const std::string& path) { return os::exists(path); }
uint64_t RealHost::file_size(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}
bool RealHost::is_mount_point(const std::string& path) { return os::is_mount_point(path); }
std::string RealHost::filesystem_kind(const std::string& path) { return os::filesystem_kind(path); }
Status RealHost::check_reflink(const std::string& dir) { return os::check_reflink(dir); }
std::string RealHost::image_filesystem(const std::string& image) {
  auto r = os::run({"blkid", "-p", "-o", "value", "-s", "TYPE", image});
  return trim(r ? r->output : "") == "xfs" ? "xfs" : "btrfs";
}
Status RealHost::create_image(const std::string& image, uint64_t size_bytes, const std::string& kind) {
  return create_pool_image(image, size_bytes, kind);
}
Status RealHost::mount_image(const std::string& image, const std::string& mount_point,
                             const std::string& kind) {
  return mount_pool_image(image, mount_point, kind);
}
void RealHost::use_direct_io(const std::string& mount_point) { pgd::use_direct_io(mount_point); }
Status RealHost::unmount(const std::string& mount_point) { return unmount_pool(mount_point); }
Result<os::FsUsage> RealHost::filesystem_usage(const std::string& path) {
  return os::filesystem_usage(path);
}
Result<std::string> RealHost::tool_version(const std::vector<std::string>& argv) {
  TRY_ASSIGN(std::string out, os::run_checked(argv));
  return trim(out.substr(0, out.find('\n')));
}

std::string RealHost::boot_unit_state() {
  if (!os::exists("/run/systemd/system")) return "";
  auto r = os::run({"systemctl", "is-enabled", "pgd.service"});
  if (!r) return "";
  std::string state = trim(r->output);
  return state.empty() ? "not-found" : state.substr(0, state.find('\n'));
}

}  // namespace pgd::cli
