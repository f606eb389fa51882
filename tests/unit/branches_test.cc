#include "core/branches.h"

#include <gtest/gtest.h>

#include "core/projects.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

class Branches : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
    w.storage.volumes["prod/main"] = "main-data";
    w.postgres.calls.clear();
  }
  Result<BranchCreated> create(const std::string& name, std::optional<BranchRef> from = {}) {
    return create_branch(*w.ctx, BranchRef{"prod", name}, from);
  }
  size_t branch_count() { return w.store->branches("prod")->size(); }
  FakeWorld w;
};

TEST_F(Branches, CreateClonesParentAndRecordsItRunning) {
  auto r = create("dev");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(w.storage.volumes["prod/dev"], "main-data");
  auto rec = *w.store->branch("prod", "dev");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->parent, "main");
  EXPECT_EQ(rec->state, BranchState::Running);
  EXPECT_NE(rec->port, w.store->branch("prod", "main")->value().port);
}

TEST_F(Branches, CreateIsRefusedBeforeAnythingIsMadeWhenMemoryIsShort) {
  w.files.files["/proc/meminfo"].content = "MemTotal:       24683840 kB\nMemAvailable:     131072 kB\n";
  auto r = create("dev");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(r.error().message,
            "branch 'prod/dev': only 128.0 MiB of memory is available, too little to start another server; "
            "stop branches you do not use (pgd stop), or let pgd serve put idle ones to sleep");
  EXPECT_EQ(branch_count(), 1u);
  EXPECT_FALSE(w.storage.volumes.count("prod/dev"));
  w.files.files["/proc/meminfo"].content = "MemAvailable:    1048576 kB\n";
  EXPECT_TRUE(create("dev"));
}

TEST(Meminfo, ReadsMemAvailable) {
  EXPECT_EQ(meminfo_available_bytes("MemTotal: 10 kB\nMemAvailable:  2048 kB\n"), 2048u * 1024);
  EXPECT_EQ(meminfo_available_bytes("MemTotal: 10 kB\n"), std::nullopt);
  EXPECT_EQ(meminfo_available_bytes("MemAvailable: x kB\n"), std::nullopt);
}

TEST_F(Branches, CreateCheckpointsBeforeSnapshottingARunningSource) {
  ASSERT_TRUE(create("dev"));
  ASSERT_GE(w.postgres.calls.size(), 7u);
  // Is it idle (all WAL flushed, REDO point close)? Not here: CHECKPOINT.
  EXPECT_NE(w.postgres.calls[0].find("pg_wal_lsn_diff"), std::string::npos);
  EXPECT_EQ(w.postgres.calls[1], "checkpoint /fake/prod/main");
  // Where the clone's replay starts and (read after the snapshot, on the same
  // session) where its WAL ends: the segments outside are dropped from the clone.
  EXPECT_EQ(w.postgres.calls[2], "query /fake/prod/main SELECT redo_lsn FROM pg_control_checkpoint()");
  EXPECT_TRUE(w.postgres.calls[3].starts_with("query /fake/prod/main SELECT CASE WHEN pg_is_in_recovery()"));
  EXPECT_NE(w.postgres.calls[3].find("ELSE pg_current_wal_insert_lsn()"), std::string::npos);
  EXPECT_EQ(w.postgres.calls[4], "clone /fake/prod/dev");
  EXPECT_EQ(w.postgres.calls[5], "configure /fake/prod/dev");
  EXPECT_EQ(w.postgres.calls[6], "start /fake/prod/dev");
}

TEST_F(Branches, CreateSkipsTheCheckpointOfAnIdleSource) {
  w.postgres.answers.insert(w.postgres.answers.begin(), {"pg_wal_lsn_diff", {{"0/1000028", "t"}}});
  ASSERT_TRUE(create("dev"));
  for (const auto& call : w.postgres.calls) EXPECT_NE(call, "checkpoint /fake/prod/main");
  EXPECT_NE(w.postgres.calls[1].find("ELSE pg_current_wal_insert_lsn()"), std::string::npos);
  EXPECT_EQ(w.postgres.calls[2], "clone /fake/prod/dev");
}

TEST_F(Branches, CreateFromAStoppedSourceSkipsTheCheckpoint) {
  w.postgres.running.clear();
  ASSERT_TRUE(create("dev"));
  EXPECT_EQ(w.postgres.calls[0], "clone /fake/prod/dev");
}

TEST_F(Branches, CreateReportsEveryPhase) {
  auto r = create("dev");
  ASSERT_TRUE(r);
  std::vector<std::string> phases;
  for (auto& [p, _] : r->timings) phases.push_back(p);
  // The base snapshot overlaps the start on atomic storage; on XFS it has a phase of its own.
  EXPECT_EQ(phases, (std::vector<std::string>{"connect", "checkpoint", "snapshot", "configure", "start"}));
}

TEST_F(Branches, FailedStartLeavesNoRecordNoVolumeNoProcess) {
  w.postgres.fail_start_of = "/fake/prod/dev";
  auto r = create("dev");
  ASSERT_FALSE(r);
    // The real NativePostgres's wording: the runner names the branch, nobody repeats it.
  EXPECT_EQ(r.error().message, "branch 'prod/dev': postgres exited during start-up; log " +
                                   w.ctx->paths.log_file("prod", "dev") + ":");
  EXPECT_FALSE(w.storage.exists("prod/dev"));
  EXPECT_FALSE(*w.store->branch("prod", "dev"));
  EXPECT_EQ(w.postgres.running.count("/fake/prod/dev"), 0u);
}

TEST_F(Branches, FailedSnapshotLeavesNoRecord) {
  w.storage.fail_clone_to = "prod/dev";
  auto r = create("dev");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "btrfs snapshot /fake/prod/main -> /fake/prod/dev: No space left on device");
  EXPECT_EQ(branch_count(), 1u);
}

TEST_F(Branches, CreateNeverTouchesAnUnrecordedVolumeInTheWay) {
  w.storage.volumes["prod/dev"] = "someone-elses";
  auto r = create("dev");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(w.storage.volumes["prod/dev"], "someone-elses");
  EXPECT_EQ(branch_count(), 1u);
}

TEST_F(Branches, DuplicateIsAConflict) {
  ASSERT_TRUE(create("dev"));
  auto again = create("dev");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(again.error().message, "branch 'prod/dev' already exists");
}

TEST_F(Branches, DeleteRefusesBranchWithChildrenUnlessForced) {
  ASSERT_TRUE(create("dev"));
  ASSERT_TRUE(create("feature", BranchRef{"prod", "dev"}));
  auto refused = delete_branch(*w.ctx, {"prod", "dev"}, Force::No);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "branch 'prod/dev' has branches made from it (prod/feature); delete them first or "
            "use --force to delete them too");
  EXPECT_EQ(branch_count(), 3u);
  ASSERT_TRUE(delete_branch(*w.ctx, {"prod", "dev"}, Force::Yes));
  EXPECT_EQ(branch_count(), 1u);
  EXPECT_FALSE(w.storage.exists("prod/dev"));
  EXPECT_FALSE(w.storage.exists("prod/feature"));
}

TEST_F(Branches, DeleteRefusesMain) {
  auto r = delete_branch(*w.ctx, {"prod", "main"}, Force::Yes);
  ASSERT_FALSE(r);
  EXPECT_TRUE(w.storage.exists("prod/main"));
}

TEST_F(Branches, ResetKeepsTheOldDataWhenTheCloneFails) {
  ASSERT_TRUE(create("dev"));
  w.storage.volumes["prod/dev"] = "dev-changes";
  w.storage.fail_clone_to = "prod/dev.reset";
  ASSERT_FALSE(reset_branch(*w.ctx, {"prod", "dev"}));
  EXPECT_EQ(w.storage.volumes["prod/dev"], "dev-changes");
  EXPECT_EQ(w.postgres.running.count("/fake/prod/dev"), 1u) << "still running";
}

TEST_F(Branches, ResetReplacesDataWithTheParentsAndKeepsThePort) {
  ASSERT_TRUE(create("dev"));
  int port = w.store->branch("prod", "dev")->value().port;
  w.storage.volumes["prod/dev"] = "dev-changes";
  w.storage.volumes["prod/main"] = "main-newer";
  ASSERT_TRUE(reset_branch(*w.ctx, {"prod", "dev"}));
  EXPECT_EQ(w.storage.volumes["prod/dev"], "main-newer");
  EXPECT_FALSE(w.storage.exists("prod/dev.reset"));
  EXPECT_EQ(w.store->branch("prod", "dev")->value().port, port);
}

TEST(Descendants, ListsDeepestFirst) {
  auto rec = [](std::string name, std::optional<std::string> parent) {
    BranchRecord b;
    b.project = "p";
    b.name = std::move(name);
    b.parent = std::move(parent);
    return b;
  };
  std::vector<BranchRecord> all{rec("main", std::nullopt), rec("a", "main"), rec("b", "a"),
                                rec("c", "b"), rec("d", "main")};
  std::vector<std::string> names;
  for (auto& b : descendants(all, "a")) names.push_back(b.name);
  EXPECT_EQ(names, (std::vector<std::string>{"c", "b"}));
}

TEST(Projects, UnknownVersionIsAUsageErrorListingInstalledOnes) {
  FakeWorld w;
  auto r = create_project(*w.ctx, "prod", 99);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_EQ(r.error().message,
            "PostgreSQL 99 is not installed (installed: 14, 15); install it with apt-get "
            "install postgresql-99");
}

TEST(Projects, FailedInitdbLeavesNothing) {
  FakeWorld w;
  w.postgres.fail_initdb = true;
  ASSERT_FALSE(create_project(*w.ctx, "prod", std::nullopt));
  EXPECT_FALSE(*w.store->project("prod"));
  EXPECT_TRUE(w.store->branches()->empty());
  EXPECT_TRUE(w.storage.volumes.empty());
  EXPECT_FALSE(std::filesystem::exists(w.ctx->paths.password_file("prod")));
}

TEST(Projects, DefaultsToTheNewestInstalledVersion) {
  FakeWorld w;
  auto r = create_project(*w.ctx, "prod", std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->branch.pg_version, 15);
}

}  // namespace
}  // namespace pgd

namespace pgd {
namespace {

TEST_F(Branches, AnUndoThatFailsIsReportedAsAWarningNotForgotten) {
  w.postgres.fail_start_of = "/fake/prod/dev";
  w.storage.fail_destroy_of = "prod/dev";
  auto r = create("dev");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("postgres exited during start-up"), std::string::npos);
  ASSERT_EQ(w.ctx->warnings.size(), 1u);
  EXPECT_EQ(w.ctx->warnings[0],
            "removing the half-made branch 'prod/dev' (pgd doctor --fix finishes it) failed: "
            "btrfs subvolume delete /fake/prod/dev: Device or resource busy");
  // The journal still names the create, so doctor sees it.
  EXPECT_TRUE(w.store->branch("prod", "dev")->has_value());
}

TEST_F(Branches, DeleteRemovesTheBranchsArchiveLogAndSocketDirectory) {
  ASSERT_TRUE(create("dev"));
  auto dev = w.store->branch("prod", "dev")->value();
  std::string wal = w.ctx->paths.wal_dir("prod", "dev");
  ASSERT_TRUE(w.files.write_atomic(wal + "/000000010000000000000001", "seg", 0600));
  ASSERT_TRUE(w.files.write_atomic(w.ctx->paths.log_file("prod", "dev"), "log", 0600));
  ASSERT_TRUE(delete_branch(*w.ctx, BranchRef{"prod", "dev"}, Force::No));
  EXPECT_FALSE(w.files.exists(wal));
  EXPECT_FALSE(w.files.exists(wal + "/000000010000000000000001"));
  EXPECT_FALSE(w.files.exists(w.ctx->paths.log_file("prod", "dev")));
  EXPECT_FALSE(w.files.exists(w.ctx->paths.socket_dir(dev.port)));
  EXPECT_FALSE(w.storage.exists("prod/dev"));
}

}  // namespace
}  // namespace pgd
