#include "core/snapshots.h"

#include <gtest/gtest.h>

#include "core/branches.h"
#include "core/projects.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

class Snapshots : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt)); }
  Result<SnapshotCreated> take(std::optional<std::string> label = {}) {
    return create_snapshot(*w.ctx, BranchRef{"prod", "main"}, label);
  }
  FakeWorld w;
};

TEST_F(Snapshots, ARunningBranchsSnapshotIsReadOnlyAndBoundedByItsLsns) {
  auto r = take("before");
  ASSERT_TRUE(r) << r.error().message;
  const auto& s = r->snapshot;
  EXPECT_EQ(s.volume, "prod/main@" + s.id);
  EXPECT_TRUE(w.storage.exists(s.volume));
  EXPECT_EQ(s.redo_lsn, "0/1000028");  // the CHECKPOINT's REDO point
  EXPECT_EQ(s.lsn, "0/2000000");       // read after the snapshot
  auto stored = *w.store->snapshots("prod", "main");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].label, "before");
}

TEST_F(Snapshots, AStoppedBranchsSnapshotTakesItsShutdownCheckpoint) {
  w.postgres.running.clear();
  auto r = take();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->snapshot.lsn, "0/1000060");
  EXPECT_EQ(r->snapshot.redo_lsn, "0/1000028");
}

TEST_F(Snapshots, ADuplicateLabelIsRefusedBeforeAnythingIsMade) {
  ASSERT_TRUE(take("x"));
  size_t volumes = w.storage.volumes.size();
  auto again = take("x");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(w.storage.volumes.size(), volumes);
}

TEST_F(Snapshots, AFailedSnapshotLeavesNoVolumeNoRecordNoIntent) {
  w.postgres.answers.insert(w.postgres.answers.begin(), {"pg_current_wal_insert_lsn", {}});
  auto r = take();  // the LSN query after the clone answers no row
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("expected a row of 2 value(s), got no row"), std::string::npos);
  EXPECT_TRUE(w.store->snapshots()->empty());
  for (const auto& [v, _] : w.storage.volumes) EXPECT_EQ(v.find('@'), std::string::npos) << v;
  EXPECT_TRUE(w.store->intents()->empty());
}

TEST_F(Snapshots, CleanupDeletesOnlyOlderOnes) {
  ASSERT_TRUE(take("old"));
  w.clock.m_now += 10LL * 86400 * 1'000'000;
  ASSERT_TRUE(take("new"));
  auto dry = cleanup_snapshots(*w.ctx, std::nullopt, 7, DryRun::Yes);
  ASSERT_TRUE(dry);
  ASSERT_EQ(dry->size(), 1u);
  EXPECT_EQ(w.store->snapshots()->size(), 2u);
  auto removed = cleanup_snapshots(*w.ctx, std::nullopt, 7, DryRun::No);
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].label, "old");
  auto left = *w.store->snapshots();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].label, "new");
  EXPECT_FALSE(w.storage.exists((*removed)[0].volume));
}

TEST_F(Snapshots, ALabelOnSeveralBranchesMustBeGivenById) {
  ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
  ASSERT_TRUE(take("v1"));
  ASSERT_TRUE(create_snapshot(*w.ctx, BranchRef{"prod", "dev"}, std::string("v1")));
  auto found = find_snapshot(*w.ctx, "v1");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().kind, ErrorKind::Usage);
}

}  // namespace
}  // namespace pgd
