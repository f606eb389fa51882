// Point-in-time branches over fakes: the base snapshot chosen, the recovery
// settings written, the window's errors, and what a failure leaves.
#include "core/pitr.h"

#include <gtest/gtest.h>

#include "core/projects.h"
#include "core/snapshots.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

std::string setting(const std::vector<std::pair<std::string, std::string>>& settings,
                    const std::string& name) {
  for (const auto& [k, v] : settings)
    if (k == name) return v;
  return "";
}

class Pitr : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
    // seal_archive: the segment it switched to is archived at once.
    w.postgres.answers.insert(w.postgres.answers.begin(), {"pg_switch_wal", {{"000000010000000000000002"}}});
  }
  Result<BranchCreated> pitr(const std::string& name, const std::string& target) {
    return create_pitr_branch(*w.ctx, BranchRef{"prod", name}, std::nullopt, target);
  }
  FakeWorld w;
};

TEST_F(Pitr, ALabelTargetClonesThatSnapshotWithoutReplay) {
  auto snap = create_snapshot(*w.ctx, BranchRef{"prod", "main"}, std::string("v1"));
  ASSERT_TRUE(snap);
  auto r = pitr("old", "v1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(w.storage.exists("prod/old"));
  EXPECT_EQ(setting(w.postgres.settings["/fake/prod/old"], "restore_command"), "");
  EXPECT_EQ(w.store->branch("prod", "old")->value().state, BranchState::Running);
}

TEST_F(Pitr, ATimeTargetReplaysFromTheLatestSnapshotBeforeIt) {
  w.storage.volumes["prod/main"] = "state at a";
  ASSERT_TRUE(create_snapshot(*w.ctx, BranchRef{"prod", "main"}, std::string("a")));
  w.clock.m_now += 3600LL * 1'000'000;
  w.storage.volumes["prod/main"] = "state at b";
  auto b = create_snapshot(*w.ctx, BranchRef{"prod", "main"}, std::string("b"));
  ASSERT_TRUE(b);
  w.clock.m_now += 600LL * 1'000'000;
  w.postgres.settings.clear();
  auto r = pitr("undo", "5 minutes ago");
  ASSERT_TRUE(r) << r.error().message;
  // Replay is configured on the clone before its start, then dropped once promoted.
  bool recovered = false;
  for (const auto& c : w.postgres.calls) recovered = recovered || c == "recover /fake/prod/undo";
  EXPECT_TRUE(recovered);
  auto final_settings = w.postgres.settings["/fake/prod/undo"];
  EXPECT_EQ(setting(final_settings, "recovery_target_time"), "");
  EXPECT_EQ(w.storage.volumes["prod/undo"], "state at b");
}

TEST_F(Pitr, ATargetBeforeEverySnapshotSaysWhatCanBeRecovered) {
  ASSERT_TRUE(create_snapshot(*w.ctx, BranchRef{"prod", "main"}, std::nullopt));
  auto r = pitr("undo", "2 days ago");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("it is before the first snapshot"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(w.store->branch("prod", "undo")->has_value());
}

TEST_F(Pitr, AFailedReplayLeavesNoBranch) {
  ASSERT_TRUE(create_snapshot(*w.ctx, BranchRef{"prod", "main"}, std::nullopt));
  w.clock.m_now += 600LL * 1'000'000;
  w.postgres.fail_start_of = "/fake/prod/undo";
  auto r = pitr("undo", "1 minute ago");
  ASSERT_FALSE(r);
  EXPECT_FALSE(w.store->branch("prod", "undo")->has_value());
  EXPECT_FALSE(w.storage.exists("prod/undo"));
  EXPECT_TRUE(w.store->intents()->empty());
  EXPECT_TRUE(w.ctx->warnings.empty());
}

TEST_F(Pitr, ARecoveryEndedBeforeTheTargetIsExplained) {
  ASSERT_TRUE(create_snapshot(*w.ctx, BranchRef{"prod", "main"}, std::nullopt));
  w.clock.m_now += 600LL * 1'000'000;
  w.postgres.fail_start_of = "/fake/prod/undo";
  ASSERT_TRUE(w.files.write_atomic(w.ctx->paths.log_file("prod", "undo"),
                                   "FATAL:  recovery ended before configured recovery target was reached\n", 0600));
  auto r = pitr("undo", "1 minute ago");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("branch 'prod/undo': cannot recover to"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("the WAL archived for 'prod/main' ends before it"), std::string::npos);
}

}  // namespace
}  // namespace pgd
