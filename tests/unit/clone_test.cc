// The clone of a running source on a backend without atomic clones (XFS):
// file by file inside pg_backup_start/stop, pg_wal cloned again, backup_label
// written, the segments it needs checked.
#include "core/branches.h"

#include <gtest/gtest.h>

#include "core/projects.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

constexpr const char* k_label =
    "START WAL LOCATION: 0/1000028 (file 000000010000000000000001)\n"
    "CHECKPOINT LOCATION: 0/1000060\n";

class BackupClone : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
    w.storage.atomic = false;
    main_wal = w.storage.path("prod/main") + "/pg_wal";
    ASSERT_TRUE(w.files.write_atomic(main_wal + "/000000010000000000000001", "seg1", 0600));
    ASSERT_TRUE(w.files.make_dirs(main_wal, 0700));
    w.postgres.answers.insert(w.postgres.answers.begin(),
                              {{"pg_backup_start", {{"0/1000028"}}},
                               {"pg_backup_stop", {{"0/1000100", k_label}}}});
    w.postgres.calls.clear();
  }
  Result<BranchCreated> create() { return create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt); }
  FakeWorld w;
  std::string main_wal;
};

TEST_F(BackupClone, ClonesInsideABackupAndWritesItsLabel) {
  auto r = create();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(w.postgres.calls[0], "query /fake/prod/main SELECT pg_backup_start('pgd clone', true)");
  EXPECT_EQ(w.postgres.calls[1], "query /fake/prod/main SELECT lsn, labelfile FROM pg_backup_stop(false)");
  ASSERT_EQ(w.storage.cloned_dirs, std::vector<std::string>{"prod/dev/pg_wal"});
  std::string dev = w.storage.path("prod/dev");
  auto label = w.files.read(dev + "/backup_label");
  ASSERT_TRUE(label);
  EXPECT_EQ(*label, k_label);
  EXPECT_EQ(w.files.files[dev + "/backup_label"].mode, 0600u);
  EXPECT_TRUE(w.files.files[dev + "/backup_label"].owner.has_value());  // the data dir's owner
  EXPECT_TRUE(w.files.exists(dev + "/pg_wal/000000010000000000000001"));
}

TEST_F(BackupClone, ASegmentRecycledDuringTheCloneFailsItAndLeavesNothing) {
  ASSERT_TRUE(w.files.remove_file(main_wal + "/000000010000000000000001"));
  auto r = create();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("WAL segment 000000010000000000000001 that the clone needs was "
                                   "recycled by the source while it was cloned"),
            std::string::npos);
  EXPECT_FALSE(w.storage.exists("prod/dev"));
  EXPECT_TRUE(w.files.below(w.storage.path("prod/dev")).empty());
  EXPECT_FALSE(w.store->branch("prod", "dev")->has_value());
}

TEST_F(BackupClone, AFailedLabelWriteRollsBackAndAFailedRollbackIsAWarning) {
  std::string dev = w.storage.path("prod/dev");
  w.files.fail_write.insert(dev + "/backup_label");
  w.storage.fail_destroy_of = "prod/dev";
  auto r = create();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "write " + dev + "/backup_label: No space left on device");
  ASSERT_EQ(w.ctx->warnings.size(), 2u);
  EXPECT_EQ(w.ctx->warnings[0], "removing the half-made clone " + dev +
                                    " failed: btrfs subvolume delete " + dev +
                                    ": Device or resource busy");
}

TEST_F(BackupClone, RecycledSegmentsPastTheEndAreDroppedFromTheClone) {
  // A segment after the WAL's end (pg_current_wal_insert_lsn 0/2000100 is in
  // segment 2) is one the source recycled ahead: not the clone's.
  ASSERT_TRUE(w.files.write_atomic(main_wal + "/000000010000000000000009", "recycled", 0600));
  ASSERT_TRUE(create());
  EXPECT_FALSE(w.files.exists(w.storage.path("prod/dev") + "/pg_wal/000000010000000000000009"));
  EXPECT_TRUE(w.files.exists(main_wal + "/000000010000000000000009"));
}

}  // namespace
}  // namespace pgd
