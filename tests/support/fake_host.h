// A machine for setup's unit tests: who we are, which paths exist and are
// mounted, what filesystem each holds; images "created" and "mounted" are recorded.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/host.h"

namespace pgd::test {

class FakeHost : public Host {
 public:
  bool root = true;
  os::OsUser me{"alice", 1000, 1000};
  std::map<std::string, os::OsUser> users;      // existing accounts
  std::set<std::string> paths;                  // existing paths
  std::set<std::string> mounts;                 // mount points
  std::map<std::string, std::string> fs_of;     // path -> "btrfs" | "xfs" | ""
  std::set<std::string> unreachable;            // dirs the Postgres user cannot traverse
  bool reflink_works = true;
  std::vector<std::string> log;                 // "create IMG 20G btrfs", "mount IMG at M", ...

  bool is_root() override { return root; }
  os::OsUser current_user() override { return me; }
  Result<os::OsUser> lookup_user(const std::string& name) override {
    if (!users.count(name)) return fail(ErrorKind::NotFound, fmt::format("no user '{}'", name));
    return users[name];
  }
  Result<os::OsUser> ensure_system_user(const std::string& name) override {
    if (!users.count(name)) {
      users[name] = os::OsUser{name, 990, 990};
      log.push_back("useradd " + name);
    }
    return users[name];
  }
  bool can_traverse(const std::string& dir, const os::OsUser&) override { return !unreachable.count(dir); }
  std::string absolute_path(const std::string& path) override {
    return path.starts_with("/") ? path : "/cwd/" + path;
  }
  bool exists(const std::string& path) override { return paths.count(path) > 0; }
  uint64_t file_size(const std::string&) override { return 5ULL << 30; }
  bool is_mount_point(const std::string& path) override { return mounts.count(path) > 0; }
  std::string filesystem_kind(const std::string& path) override { return fs_of.count(path) ? fs_of[path] : ""; }
  Status check_reflink(const std::string& dir) override {
    if (reflink_works) return {};
    return fail(fmt::format("{}: XFS without reflink: reformat with mkfs.xfs -m reflink=1", dir));
  }
  std::string image_filesystem(const std::string& image) override {
    return fs_of.count(image) ? fs_of[image] : "btrfs";
  }
  Status create_image(const std::string& image, uint64_t size_bytes, const std::string& kind) override {
    log.push_back(fmt::format("create {} {} {}", image, size_bytes, kind));
    paths.insert(image);
    fs_of[image] = kind;
    return {};
  }
  Status mount_image(const std::string& image, const std::string& mount_point, const std::string&) override {
    log.push_back(fmt::format("mount {} at {}", image, mount_point));
    mounts.insert(mount_point);
    return {};
  }
  void use_direct_io(const std::string& mount_point) override { log.push_back("direct-io " + mount_point); }
  std::map<std::string, std::string> tools;     // tool -> its version line
  Result<os::FsUsage> filesystem_usage(const std::string&) override { return os::FsUsage{100ULL << 30, 50ULL << 30}; }
  Result<std::string> tool_version(const std::vector<std::string>& argv) override {
    if (!tools.count(argv[0])) return fail(fmt::format("{}: not found", argv[0]));
    return tools[argv[0]];
  }
  std::string boot_unit = "";
  std::string boot_unit_state() override { return boot_unit; }
  Status unmount(const std::string& mount_point) override {
    log.push_back("unmount " + mount_point);
    mounts.erase(mount_point);
    return {};
  }
};

}  // namespace pgd::test
