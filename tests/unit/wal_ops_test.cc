#include "core/wal_ops.h"

#include <gtest/gtest.h>

#include "core/projects.h"
#include "core/snapshots.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

class WalOps : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
    main = w.store->branch("prod", "main")->value();
    dir = w.ctx->paths.wal_dir("prod", "main");
  }
  void archive(const std::string& name, int64_t mtime_s) {
    ASSERT_TRUE(w.files.write_atomic(dir + "/" + name, std::string(100, 'w'), 0600));
    w.files.files[dir + "/" + name].mtime_s = mtime_s;
  }
  FakeWorld w;
  BranchRecord main;
  std::string dir;
};

TEST_F(WalOps, TheArchiveScriptIsInstalledOnceAndRepairedWhenChanged) {
  const std::string script = w.ctx->paths.archive_script();
  ASSERT_TRUE(w.files.exists(script));  // by project create
  w.files.files[script].content = "tampered";
  ASSERT_TRUE(install_archive_script(w.files, w.ctx->paths));
  EXPECT_NE(w.files.files[script].content, "tampered");
  EXPECT_EQ(w.files.files[script].mode, 0755u);
}

TEST_F(WalOps, AFreshArchiveEmptiesTheOldOne) {
  archive("000000010000000000000001", 1);
  ASSERT_TRUE(prepare_archive(*w.ctx, main, FreshArchive::No));
  EXPECT_TRUE(w.files.exists(dir + "/000000010000000000000001"));
  ASSERT_TRUE(prepare_archive(*w.ctx, main, FreshArchive::Yes));
  EXPECT_FALSE(w.files.exists(dir + "/000000010000000000000001"));
  EXPECT_TRUE(w.files.exists(dir));
}

TEST_F(WalOps, InfoCountsSegmentsAndSkipsInFlightCopies) {
  archive("000000010000000000000001", 1);
  archive("000000010000000000000002", 2);
  archive("00000002.history", 3);
  archive(".000000010000000000000003.tmp", 4);
  auto info = wal_info(*w.ctx, main);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->files, 3u);
  EXPECT_EQ(info->segments, 2u);
  EXPECT_EQ(info->bytes, 300u);
  EXPECT_EQ(info->oldest->name, "000000010000000000000001");
  EXPECT_EQ(info->newest->name, "000000010000000000000002");
}

TEST_F(WalOps, CleanupKeepsWhatTheOldestSnapshotNeeds) {
  int64_t now_s = 1767225600;  // the fake clock's start
  archive("000000010000000000000000", now_s - 30 * 86400);
  archive("000000010000000000000001", now_s - 30 * 86400);  // the snapshot's REDO segment
  archive("000000010000000000000002", now_s - 30 * 86400);
  ASSERT_TRUE(create_snapshot(*w.ctx, BranchRef{"prod", "main"}, std::nullopt));  // REDO 0/1000028
  auto dry = wal_cleanup(*w.ctx, main, 7 * 86400, DryRun::Yes);
  ASSERT_TRUE(dry);
  ASSERT_EQ(dry->removed.size(), 1u);
  EXPECT_EQ(dry->removed[0].name, "000000010000000000000000");
  EXPECT_TRUE(w.files.exists(dir + "/000000010000000000000000"));
  ASSERT_TRUE(wal_cleanup(*w.ctx, main, 7 * 86400, DryRun::No));
  EXPECT_FALSE(w.files.exists(dir + "/000000010000000000000000"));
  EXPECT_TRUE(w.files.exists(dir + "/000000010000000000000001"));
}

TEST_F(WalOps, SealingWaitsForTheSwitchedSegmentToBeArchived) {
  w.postgres.answers.insert(w.postgres.answers.begin(), {"pg_switch_wal", {{"000000010000000000000005"}}});
  std::string ready = w.storage.path("prod/main") + "/pg_wal/archive_status/000000010000000000000005.ready";
  auto sealed = seal_archive(*w.ctx, main);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_EQ(*sealed, "0/2000000");
  EXPECT_EQ(w.processes.slept_ms, 0);
  ASSERT_TRUE(w.files.write_atomic(ready, "", 0600));  // never archived
  w.postgres.answers.insert(w.postgres.answers.begin(), {"pg_stat_archiver", {{"3", "", "", "1", "x", "t"}}});
  auto stuck = seal_archive(*w.ctx, main);
  ASSERT_FALSE(stuck);
  EXPECT_NE(stuck.error().message.find("was not archived within 60 s"), std::string::npos);
  EXPECT_EQ(w.processes.slept_ms, 60'000);
}

}  // namespace
}  // namespace pgd
