// doctor's reconciliation over fakes: each kind of finding, its fix, and a fix
// that fails.
#include "core/repair.h"

#include <signal.h>

#include <gtest/gtest.h>

#include "core/branches.h"
#include "core/projects.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

class Repair : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
    ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
  }
  std::vector<Finding> report() { return reconcile(*w.ctx, Mode::Report).value(); }
  std::vector<Finding> fix() { return reconcile(*w.ctx, Mode::Fix).value(); }
  FakeWorld w;
};

TEST_F(Repair, AHealthyPoolHasNoFindings) { EXPECT_TRUE(report().empty()); }

TEST_F(Repair, AnInterruptedCreateIsRolledBack) {
  // As a pgd killed after cloning leaves it: the intent of a dead pid, a
  // branch record still "creating", its volume.
  auto id = w.store->begin_intent("branch.create", "prod/x", "2026-01-01T00:00:00.000Z", 999);
  ASSERT_TRUE(id);
  ASSERT_TRUE(w.store->advance_intent(*id, "cloned"));
  BranchRecord x{"prod", "x", "main", 0, BranchState::Creating, "prod/x", "t", 15};
  ASSERT_TRUE(w.store->reserve_branch(x, [](int) { return true; }));
  ASSERT_TRUE(w.storage.clone("prod/main", "prod/x", Access::ReadWrite));

  auto found = report();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].subject, "operation branch.create prod/x");
  EXPECT_EQ(found[0].fix, "roll back what it made");
  EXPECT_EQ(found[1].subject, "branch prod/x");
  EXPECT_EQ(found[1].problem, "its creation never finished");
  EXPECT_TRUE(w.storage.exists("prod/x"));  // a report changes nothing

  for (const auto& f : fix()) EXPECT_TRUE(f.fixed) << f.subject << ": " << f.fix;
  EXPECT_FALSE(w.storage.exists("prod/x"));
  EXPECT_FALSE(w.store->branch("prod", "x")->has_value());
  EXPECT_TRUE(w.store->intents()->empty());
  EXPECT_TRUE(report().empty());
}

TEST_F(Repair, TheIntentOfALivePgdIsLeftAlone) {
  w.processes.live[555] = "pgd";
  ASSERT_TRUE(w.store->begin_intent("branch.create", "prod/y", "t", 555));
  EXPECT_TRUE(report().empty());
}

TEST_F(Repair, AnInterruptedDeleteIsFinished) {
  auto id = w.store->begin_intent("branch.delete", "prod/dev", "t", 999);
  ASSERT_TRUE(id);
  auto found = report();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].fix, "finish the deletion");
  for (const auto& f : fix()) EXPECT_TRUE(f.fixed);
  EXPECT_FALSE(w.store->branch("prod", "dev")->has_value());
  EXPECT_FALSE(w.storage.exists("prod/dev"));
}

TEST_F(Repair, AVolumeWithoutARecordHasItsServerStoppedThenIsDestroyed) {
  ASSERT_TRUE(w.storage.clone("prod/main", "prod/stray", Access::ReadWrite));
  std::string dir = w.storage.path("prod/stray");
  w.processes.live[4321] = "postgres";
  ASSERT_TRUE(w.files.write_atomic(dir + "/postmaster.pid", "4321\n" + dir + "\n1767225600\n", 0600));
  auto found = report();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].subject, "subvolume prod/stray");
  fix();
  ASSERT_EQ(w.processes.signals.size(), 1u);
  EXPECT_EQ(w.processes.signals[0], std::make_pair(4321, SIGQUIT));
  EXPECT_FALSE(w.storage.exists("prod/stray"));
}

TEST_F(Repair, APostmasterOfAnotherDirectoryIsNeverSignalled) {
  ASSERT_TRUE(w.storage.clone("prod/main", "prod/stray", Access::ReadWrite));
  w.processes.live[4321] = "postgres";
  ASSERT_TRUE(w.files.write_atomic(w.storage.path("prod/stray") + "/postmaster.pid",
                                   "4321\n/somewhere/else\n1767225600\n", 0600));
  fix();
  EXPECT_TRUE(w.processes.signals.empty());
  EXPECT_TRUE(w.processes.alive(4321));
}

TEST_F(Repair, ABranchWhoseVolumeIsGoneLosesItsRecord) {
  w.storage.volumes.erase("prod/dev");
  auto found = report();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].problem, "its subvolume /fake/prod/dev is missing");
  fix();
  EXPECT_FALSE(w.store->branch("prod", "dev")->has_value());
}

TEST_F(Repair, ABranchThatShouldRunIsStartedAndOneThatShouldNotIsStopped) {
  w.postgres.running.erase("/fake/prod/dev");
  ASSERT_TRUE(w.store->set_branch_state("prod", "main", BranchState::Stopped));
  auto found = report();
  ASSERT_EQ(found.size(), 2u);
  fix();
  EXPECT_TRUE(w.postgres.running.count("/fake/prod/dev"));
  EXPECT_FALSE(w.postgres.running.count("/fake/prod/main"));
  EXPECT_TRUE(report().empty());
}

TEST_F(Repair, AFixThatFailsSaysWhyAndIsNotMarkedFixed) {
  ASSERT_TRUE(w.storage.clone("prod/main", "prod/stray", Access::ReadWrite));
  w.storage.fail_destroy_of = "prod/stray";
  auto found = fix();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FALSE(found[0].fixed);
  EXPECT_EQ(found[0].fix, "stop any server on it and destroy it (failed: btrfs subvolume delete "
                          "/fake/prod/stray: Device or resource busy)");
  EXPECT_EQ(report().size(), 1u);
}

TEST_F(Repair, ABusyProjectIsReportedNotTouched) {
  auto busy = w.files.lock(w.ctx->paths.lock_file("prod"), "project 'prod'", 0);
  ASSERT_TRUE(busy);
  w.storage.volumes.erase("prod/dev");
  auto found = fix();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].problem, "a pgd command is working on it right now");
  EXPECT_TRUE(w.store->branch("prod", "dev")->has_value());
}

TEST_F(Repair, AProjectWithoutBranchesIsRemovedWithItsFiles) {
  auto snapshots = *w.store->snapshots();
  for (const auto& s : snapshots) {
    ASSERT_TRUE(w.store->delete_snapshot(s.id));
    w.storage.volumes.erase(s.volume);
  }
  ASSERT_TRUE(w.store->delete_branch("prod", "dev"));
  w.storage.volumes.erase("prod/dev");
  ASSERT_TRUE(w.store->delete_branch("prod", "main"));
  w.storage.volumes.erase("prod/main");
  auto found = report();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].subject, "project prod");
  fix();
  EXPECT_FALSE(w.store->project("prod")->has_value());
  EXPECT_FALSE(w.files.exists(w.ctx->paths.password_file("prod")));
  EXPECT_FALSE(w.files.exists(w.ctx->paths.tls_dir("prod") + "/ca.crt"));
}

}  // namespace
}  // namespace pgd

namespace pgd {
namespace {

TEST_F(Repair, ASleepingBranchIsFineOnlyWhileTheDaemonRuns) {
  w.postgres.running.erase("/fake/prod/dev");
  ASSERT_TRUE(w.store->set_branch_state("prod", "dev", BranchState::Sleeping));
  w.ctx->daemon_serving = [] { return true; };
  EXPECT_TRUE(report().empty());
  w.ctx->daemon_serving = [] { return false; };
  auto found = report();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].problem, "sleeps but pgd serve is not running: no connection wakes it");
  ASSERT_TRUE(reconcile(*w.ctx, Mode::Fix));
  EXPECT_TRUE(w.postgres.running.count("/fake/prod/dev"));
  EXPECT_EQ((*w.store->branch("prod", "dev"))->state, BranchState::Running);
}

TEST_F(Repair, AServerLeftOnItsPrivatePortWithoutADaemonIsMovedBack) {
  auto dev = **w.store->branch("prod", "dev");
  ASSERT_TRUE(stop_branch(*w.ctx, dev));
  w.ctx->daemon_serving = [] { return true; };
  ASSERT_TRUE(start_branch(*w.ctx, dev));  // behind the daemon, which then dies
  w.ctx->daemon_serving = [] { return false; };
  auto found = report();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].problem.find("listens on its private port"), std::string::npos);
  ASSERT_TRUE(reconcile(*w.ctx, Mode::Fix));
  EXPECT_EQ(w.postgres.listening["/fake/prod/dev"], dev.port);
  EXPECT_TRUE(report().empty());
}

}  // namespace
}  // namespace pgd
