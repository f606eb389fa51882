#include "core/snapshots.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/branches.h"
#include "core/projects.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

std::vector<SnapshotRecord> of_kind(const std::vector<SnapshotRecord>& all, SnapshotKind kind) {
  std::vector<SnapshotRecord> out;
  for (const auto& s : all)
    if (s.kind == kind) out.push_back(s);
  return out;
}

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
  auto stored = of_kind(*w.store->snapshots("prod", "main"), SnapshotKind::Manual);
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
  auto left = *w.store->snapshots();
  ASSERT_EQ(left.size(), 1u);  // main's base, from its creation
  EXPECT_EQ(left[0].kind, SnapshotKind::Base);
  for (const auto& [v, _] : w.storage.volumes)
    EXPECT_TRUE(v.find('@') == std::string::npos || v == left[0].volume) << v;
  EXPECT_TRUE(w.store->intents()->empty());
}

TEST_F(Snapshots, CleanupDeletesOnlyOlderOnes) {
  ASSERT_TRUE(take("old"));
  w.clock.m_now += 10LL * 86400 * 1'000'000;
  ASSERT_TRUE(take("new"));
  auto dry = cleanup_snapshots(*w.ctx, std::nullopt, 7 * 86400, DryRun::Yes);
  ASSERT_TRUE(dry);
  ASSERT_EQ(dry->size(), 2u);  // "old" and main's base: "new" now starts the window
  EXPECT_EQ(w.store->snapshots()->size(), 3u);
  auto removed = cleanup_snapshots(*w.ctx, std::nullopt, 7 * 86400, DryRun::No);
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->size(), 2u);
  EXPECT_EQ((*removed)[0].kind, SnapshotKind::Base);
  EXPECT_EQ((*removed)[1].label, "old");
  auto left = *w.store->snapshots();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].label, "new");
  EXPECT_FALSE(w.storage.exists((*removed)[1].volume));
}

TEST_F(Snapshots, CleanupKeepsABaseThatStillStartsTheWindow) {
  w.clock.m_now += 10LL * 86400 * 1'000'000;
  auto removed = cleanup_snapshots(*w.ctx, std::nullopt, 7 * 86400, DryRun::No);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(removed->empty());
  EXPECT_EQ(of_kind(*w.store->snapshots(), SnapshotKind::Base).size(), 1u);
}

TEST_F(Snapshots, EveryNewBranchHasABaseAndOwnsItsWalFromThere) {
  std::string status = w.storage.path("prod/main") + "/pg_wal/archive_status";
  // The source archived segments 0 and 1 already; the clone's redo point is in segment 1.
  ASSERT_TRUE(w.files.make_dirs(status, 0700));
  ASSERT_TRUE(w.files.write_atomic(status + "/000000010000000000000000.done", "", 0600));
  ASSERT_TRUE(w.files.write_atomic(status + "/000000010000000000000001.done", "", 0600));
  ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
  auto bases = of_kind(*w.store->snapshots("prod", "dev"), SnapshotKind::Base);
  ASSERT_EQ(bases.size(), 1u);
  EXPECT_EQ(bases[0].redo_lsn, "0/1000028");
  EXPECT_EQ(bases[0].lsn, "0/2000000");
  EXPECT_TRUE(w.storage.exists(bases[0].volume));
  std::string dev_status = w.storage.path("prod/dev") + "/pg_wal/archive_status";
  EXPECT_TRUE(w.files.exists(dev_status + "/000000010000000000000000.done"));   // before its base
  EXPECT_FALSE(w.files.exists(dev_status + "/000000010000000000000001.done"));  // its own to archive
  // The base is the data before the first start: a snapshot of the configured clone.
  auto calls = w.postgres.calls;
  auto configure = std::find(calls.begin(), calls.end(), "clone /fake/prod/dev");
  auto start = std::find(calls.begin(), calls.end(), "start /fake/prod/dev");
  EXPECT_LT(configure, start);
}

TEST_F(Snapshots, AResetNeedsForceOnlyForSnapshotsTheUserTook) {
  ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
  auto old_base = of_kind(*w.store->snapshots("prod", "dev"), SnapshotKind::Base).at(0);
  ASSERT_TRUE(reset_branch(*w.ctx, BranchRef{"prod", "dev"}));
  auto bases = of_kind(*w.store->snapshots("prod", "dev"), SnapshotKind::Base);
  ASSERT_EQ(bases.size(), 1u);
  EXPECT_NE(bases[0].id, old_base.id);
  EXPECT_FALSE(w.storage.exists(old_base.volume));
  ASSERT_TRUE(create_snapshot(*w.ctx, BranchRef{"prod", "dev"}, std::string("mine")));
  auto refused = reset_branch(*w.ctx, BranchRef{"prod", "dev"});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("has 1 snapshot(s)"), std::string::npos);
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

namespace pgd {
namespace {

class AutoSnapshots : public Snapshots {
 protected:
  // Where main's WAL is now; its base starts at 0/1000028.
  void wal_at(const std::string& lsn) {
    // Matched by the position query only (the clone's end query differs).
    w.postgres.answers.insert(w.postgres.answers.begin(), {"END AS wal_position", {{lsn}}});
  }
};

TEST_F(AutoSnapshots, NothingIsTakenBelowTheLimit) {
  wal_at("0/5000000");  // 64 MiB past the base's start
  auto r = auto_snapshots(*w.ctx, 1ULL << 30);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].branch, "prod/main");
  EXPECT_EQ((*r)[0].wal_bytes, 0x5000000u - 0x1000028u);
  EXPECT_FALSE((*r)[0].taken);
  EXPECT_TRUE(of_kind(*w.store->snapshots("prod", "main"), SnapshotKind::Manual).empty());
}

TEST_F(AutoSnapshots, ABranchPastTheLimitGetsASnapshotLabelledWithItsTime) {
  wal_at("1/0");  // 4 GiB on
  auto r = auto_snapshots(*w.ctx, 1ULL << 30);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE((*r)[0].taken);
  EXPECT_TRUE((*r)[0].taken->label->starts_with("auto-2026"));
  EXPECT_EQ(of_kind(*w.store->snapshots("prod", "main"), SnapshotKind::Manual).size(), 1u);
}

TEST_F(AutoSnapshots, StoppedBranchesAreLeftAlone) {
  wal_at("1/0");
  ASSERT_TRUE(stop_branch(*w.ctx, w.store->branch("prod", "main")->value()));
  auto r = auto_snapshots(*w.ctx, 1ULL << 30);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace pgd
