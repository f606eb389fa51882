#include "core/setup.h"

#include <gtest/gtest.h>

#include "core/projects.h"
#include "support/fake_host.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeHost;
using test::FakeWorld;

class Setup : public ::testing::Test {
 protected:
  Result<SetupDone> setup(const SetupRequest& req) {
    SetupEnv env{Paths{"/home"}, *w.store, w.files, host};
    return setup_pool(env, req);
  }
  SetupRequest image(const std::string& file) {
    SetupRequest r;
    r.pool_file = file;
    return r;
  }
  SetupRequest dir(const std::string& d) {
    SetupRequest r;
    r.dir = d;
    return r;
  }
  // A refusal of `kind` whose message contains `part`, and nothing recorded.
  void expect_refused(const Result<SetupDone>& r, ErrorKind kind, const std::string& part) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, kind);
    EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
  }
  FakeWorld w;
  FakeHost host;
};

TEST_F(Setup, ANewImageIsCreatedMountedAndRecorded) {
  auto r = setup(image("/var/lib/pgd/pool.img"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(host.log, (std::vector<std::string>{"create /var/lib/pgd/pool.img 21474836480 btrfs",
                                                "mount /var/lib/pgd/pool.img at /home/pool",
                                                "useradd pgd"}));
  auto pool = w.store->pool()->value();
  EXPECT_EQ(pool.mode, "file");
  EXPECT_EQ(pool.kind, "btrfs");
  EXPECT_EQ(pool.mount_point, "/home/pool");
  EXPECT_EQ(pool.pg_user, "pgd");
  // PGD_HOME: private secrets and logs, the archive script installed.
  EXPECT_TRUE(w.files.exists("/home/secrets"));
  EXPECT_EQ(w.files.files[w.ctx->paths.archive_script()].mode, 0755u);
}

TEST_F(Setup, RunningItAgainChangesNothing) {
  ASSERT_TRUE(setup(image("/var/lib/pgd/pool.img")));
  host.log.clear();
  auto again = setup(SetupRequest{});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->actions, std::vector<std::string>{"already set up; nothing to do"});
  EXPECT_EQ(host.log, std::vector<std::string>{"direct-io /home/pool"});
}

TEST_F(Setup, AfterARebootTheRecordedImageIsMountedAgain) {
  ASSERT_TRUE(setup(image("/var/lib/pgd/pool.img")));
  host.mounts.clear();
  host.log.clear();
  auto again = setup(SetupRequest{});
  ASSERT_TRUE(again);
  EXPECT_EQ(host.log, std::vector<std::string>{"mount /var/lib/pgd/pool.img at /home/pool"});
}

TEST_F(Setup, AMissingRecordedImageSaysHowToStartOver) {
  ASSERT_TRUE(setup(image("/var/lib/pgd/pool.img")));
  host.mounts.clear();
  host.paths.erase("/var/lib/pgd/pool.img");
  auto r = setup(SetupRequest{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "pool image /var/lib/pgd/pool.img is missing; set up a new pool "
                               "with sudo pgd setup --pool-file FILE");
}

TEST_F(Setup, AnImageNeedsRoot) {
  host.root = false;
  auto r = setup(image("/p.img"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_TRUE(host.log.empty());
  EXPECT_FALSE(w.store->pool()->has_value());
}

TEST_F(Setup, WithoutAnyPoolItSaysHowToSetOneUp) {
  expect_refused(setup(SetupRequest{}), ErrorKind::Usage, "pgd is not set up yet");
}

TEST_F(Setup, AnExistingImageKeepsItsFilesystem) {
  host.paths.insert("/x.img");
  host.fs_of["/x.img"] = "xfs";
  auto r = setup(image("/x.img"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pool.kind, "xfs");
  EXPECT_EQ(r->pool.size_bytes, 5ULL << 30);
  SetupRequest wrong = image("/x.img");
  wrong.fs = "btrfs";
  auto refused = setup(wrong);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "/x.img already holds a xfs pool; --fs btrfs applies to a new image only");
}

TEST_F(Setup, ADirectoryOnBtrfsIsUsedAsItIs) {
  host.root = false;
  host.paths.insert("/srv/pgd");
  host.fs_of["/srv/pgd"] = "btrfs";
  auto r = setup(dir("/srv/pgd"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->pool.mode, "dir");
  EXPECT_EQ(r->pool.pg_user, "alice");  // not root: Postgres runs as the caller
  EXPECT_TRUE(host.log.empty());
}

TEST_F(Setup, ADirectoryOnAnotherFilesystemIsRefusedWithWhatToDo) {
  host.paths.insert("/srv/ext4");
  expect_refused(setup(dir("/srv/ext4")), ErrorKind::Usage, "/srv/ext4 is not on btrfs or XFS");
}

TEST_F(Setup, AMissingDirectoryIsRefused) {
  auto r = setup(dir("relative"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "/cwd/relative does not exist: create it on a btrfs or XFS filesystem first");
}

TEST_F(Setup, XfsWithoutReflinkIsRefused) {
  host.paths.insert("/srv/xfs");
  host.fs_of["/srv/xfs"] = "xfs";
  host.reflink_works = false;
  expect_refused(setup(dir("/srv/xfs")), ErrorKind::Usage, "reflink");
}

TEST_F(Setup, APoolThePostgresUserCannotReachIsRefused) {
  host.paths.insert("/srv/pgd");
  host.fs_of["/srv/pgd"] = "btrfs";
  host.unreachable.insert("/srv/pgd");
  expect_refused(setup(dir("/srv/pgd")), ErrorKind::Failure, "the Postgres user 'pgd' cannot reach it");
  EXPECT_FALSE(w.store->pool()->has_value());
}

TEST_F(Setup, SwitchingPoolsIsRefusedWhileProjectsExist) {
  host.paths.insert("/srv/a");
  host.fs_of["/srv/a"] = "btrfs";
  host.paths.insert("/srv/b");
  host.fs_of["/srv/b"] = "btrfs";
  ASSERT_TRUE(setup(dir("/srv/a")));
  ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
  auto r = setup(dir("/srv/b"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(w.store->pool()->value().mount_point, "/srv/a");
}

TEST_F(Setup, DetachStopsEveryBranchThenUnmounts) {
  ASSERT_TRUE(setup(image("/p.img")));
  ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
  auto actions = detach_pool(*w.ctx, host, w.store->pool()->value());
  ASSERT_TRUE(actions);
  EXPECT_EQ(*actions, (std::vector<std::string>{"stopped prod/main", "unmounted /p.img from /home/pool"}));
  EXPECT_TRUE(w.postgres.running.empty());
  EXPECT_FALSE(host.mounts.count("/home/pool"));
  // Its recorded state stays "running", so start --all brings it back.
  EXPECT_EQ(w.store->branch("prod", "main")->value().state, BranchState::Running);
  auto started = start_all(*w.ctx);
  EXPECT_EQ(started.started, std::vector<std::string>{"prod/main"});
}

}  // namespace
}  // namespace pgd
