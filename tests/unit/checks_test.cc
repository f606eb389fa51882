#include "core/checks.h"

#include <gtest/gtest.h>

#include "core/projects.h"
#include "support/fake_host.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeHost;
using test::FakeWorld;

const Check* find(const std::vector<Check>& checks, const std::string& name) {
  for (const auto& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

TEST(Checks, ThePoolsOwnFilesystemToolsAreChecked) {
  FakeWorld w;
  FakeHost host;
  host.tools["mkfs.xfs"] = "mkfs.xfs version 6.1.0";
  PoolConfig xfs{"xfs", "dir", "", "/srv/x", 0, "pgd"};
  auto checks = check_system(host, w.files, {15}, xfs);
  ASSERT_TRUE(find(checks, "xfsprogs"));
  EXPECT_TRUE(find(checks, "xfsprogs")->ok);
  EXPECT_EQ(find(checks, "xfsprogs")->detail, "mkfs.xfs version 6.1.0");
  EXPECT_FALSE(find(checks, "btrfs-progs"));  // not needed on an XFS pool
  PoolConfig btrfs{"btrfs", "dir", "", "/srv/b", 0, "pgd"};
  auto on_btrfs = check_system(host, w.files, {15}, btrfs);
  auto missing = find(on_btrfs, "btrfs-progs");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->ok);
  EXPECT_EQ(missing->fix, "apt-get install btrfs-progs");
}

TEST(Checks, NoPostgresIsAFailingCheck) {
  FakeWorld w;
  FakeHost host;
  auto none = check_system(host, w.files, {}, std::nullopt);
  auto pg = find(none, "PostgreSQL");
  ASSERT_TRUE(pg);
  EXPECT_FALSE(pg->ok);
  EXPECT_EQ(find(check_system(host, w.files, {14, 15}, std::nullopt), "PostgreSQL")->detail,
            "installed: 14, 15");
}

TEST(Checks, AnUnmountedImageIsTheOnlyPoolCheck) {
  FakeHost host;
  PoolConfig pool{"btrfs", "file", "/p.img", "/m", 0, "pgd"};
  auto checks = check_pool(host, pool);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_FALSE(checks[0].ok);
  host.mounts.insert("/m");
  host.fs_of["/m"] = "btrfs";
  host.users["pgd"] = os::OsUser{"pgd", 990, 990};
  for (const auto& c : check_pool(host, pool)) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
}

TEST(Checks, ASecretReadableByOthersIsNamedWithItsFix) {
  FakeWorld w;
  ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
  ASSERT_TRUE(w.files.write_atomic(w.ctx->paths.state_db(), "", 0600));
  EXPECT_TRUE(check_permissions(*w.ctx).ok);
  std::string pw = w.ctx->paths.password_file("prod");
  w.files.files[pw].mode = 0644;
  auto c = check_permissions(*w.ctx);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.detail, "readable by others: " + pw);
  EXPECT_EQ(c.fix, "chmod go-rwx " + pw);
}

TEST(Checks, StartAtBootSaysWhatToRunWithoutSystemdAndFailsWhenTheUnitIsDisabled) {
  FakeHost host;
  auto none = check_boot(host);
  EXPECT_TRUE(none.ok);
  EXPECT_EQ(none.detail, "no systemd here: after a boot, run 'sudo pgd setup && pgd start --all'");
  host.boot_unit = "enabled";
  EXPECT_TRUE(check_boot(host).ok);
  host.boot_unit = "disabled";
  auto off = check_boot(host);
  EXPECT_FALSE(off.ok);
  EXPECT_EQ(off.fix, "sudo systemctl enable pgd.service");
}

}  // namespace
}  // namespace pgd
