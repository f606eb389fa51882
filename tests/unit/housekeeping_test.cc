#include "core/housekeeping.h"

#include <gtest/gtest.h>

#include "core/branches.h"
#include "core/projects.h"
#include "core/snapshots.h"
#include "state/port_allocator.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

BranchRecord record(const std::string& name, std::optional<std::string> parent,
                    std::optional<std::string> expires = {}, bool is_protected = false) {
  BranchRecord b;
  b.project = "p";
  b.name = name;
  b.parent = std::move(parent);
  b.state = BranchState::Running;
  b.expires_at = std::move(expires);
  b.is_protected = is_protected;
  return b;
}

constexpr const char* k_past = "2026-01-01T00:00:00.000Z";
constexpr const char* k_future = "2036-01-01T00:00:00.000Z";
const int64_t k_now = 1767225600LL * 1'000'000 + 3'600'000'000LL;  // 2026-01-01T01:00Z

std::vector<std::string> names(const std::vector<BranchRecord>& bs) {
  std::vector<std::string> out;
  for (const auto& b : bs) out.push_back(b.name);
  return out;
}

TEST(IdleStop, MainNeverBranchesTenMinutesUnlessSet) {
  ProjectRecord p;
  EXPECT_EQ(effective_idle_stop_s(p, record("main", std::nullopt)), 0);
  EXPECT_EQ(effective_idle_stop_s(p, record("dev", "main")), k_default_idle_stop_s);
  p.idle_stop_s = 300;
  EXPECT_EQ(effective_idle_stop_s(p, record("dev", "main")), 300);
  EXPECT_EQ(effective_idle_stop_s(p, record("main", std::nullopt)), 0) << "the project's applies to branches";
  auto dev = record("dev", "main");
  dev.idle_stop_s = 0;
  EXPECT_EQ(effective_idle_stop_s(p, dev), 0) << "never, per branch";
  auto main = record("main", std::nullopt);
  main.idle_stop_s = 60;
  EXPECT_EQ(effective_idle_stop_s(p, main), 60);
}

TEST(PlanExpiry, DeletesExpiredBranchesChildrenFirst) {
  auto plan = plan_expiry({record("main", std::nullopt), record("a", "main", k_past),
                           record("a1", "a", k_past), record("b", "main", k_future)},
                          k_now);
  EXPECT_EQ(names(plan.remove), (std::vector<std::string>{"a1", "a"}));
  EXPECT_TRUE(plan.kept.empty());
}

TEST(PlanExpiry, KeepsAnExpiredBranchWithALiveOrProtectedDescendant) {
  auto plan = plan_expiry({record("main", std::nullopt), record("a", "main", k_past),
                           record("a1", "a"), record("b", "main", k_past), record("b1", "b", k_past, true),
                           record("c", "main", k_past, true)},
                          k_now);
  EXPECT_TRUE(plan.remove.empty()) << names(plan.remove).size();
  ASSERT_EQ(plan.kept.size(), 4u);
  EXPECT_EQ(plan.kept[0].second, "expired, but branch 'p/a1' made from it has not");
  EXPECT_EQ(plan.kept[1].second, "expired, but branch 'p/b1' made from it is protected");
  EXPECT_EQ(plan.kept[2].first.name, "b1");
  EXPECT_EQ(plan.kept[2].second, "expired but protected");
  EXPECT_EQ(plan.kept[3].first.name, "c");
}

class Housekeeping : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
    w.storage.volumes["prod/main"] = "main-data";
    ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
  }
  FakeWorld w;
};

TEST_F(Housekeeping, ProtectedBranchRefusesDeleteResetAndItsProjectsDelete) {
  BranchChange protect;
  protect.is_protected = true;
  ASSERT_TRUE(change_branch(*w.ctx, BranchRef{"prod", "dev"}, protect));
  auto del = delete_branch(*w.ctx, BranchRef{"prod", "dev"}, Force::No);
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(del.error().message,
            "branch 'prod/dev' is protected: delete refused (pgd branch set prod/dev --no-protected lifts it)");
  EXPECT_FALSE(reset_branch(*w.ctx, BranchRef{"prod", "dev"}, Force::Yes));
  EXPECT_FALSE(delete_project(*w.ctx, "prod", Force::Yes));
  ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "sub"}, BranchRef{"prod", "dev"}));
  EXPECT_TRUE(w.store->branch("prod", "dev")->has_value());
  protect.is_protected = false;
  ASSERT_TRUE(change_branch(*w.ctx, BranchRef{"prod", "dev"}, protect));
  EXPECT_TRUE(delete_branch(*w.ctx, BranchRef{"prod", "dev"}, Force::Yes));
}

TEST_F(Housekeeping, TtlIsCountedFromNowAndRefusedOnMain) {
  BranchChange ttl;
  ttl.ttl_s = std::optional<int64_t>(3600);
  auto b = change_branch(*w.ctx, BranchRef{"prod", "dev"}, ttl);
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_TRUE(b->expires_at);
  auto stored = *w.store->branch("prod", "dev");
  EXPECT_EQ(stored->expires_at, b->expires_at);
  auto main = change_branch(*w.ctx, BranchRef{"prod", "main"}, ttl);
  ASSERT_FALSE(main);
  EXPECT_EQ(main.error().kind, ErrorKind::Usage);
  ttl.ttl_s = std::optional<int64_t>{};  // "none"
  EXPECT_FALSE(change_branch(*w.ctx, BranchRef{"prod", "dev"}, ttl)->expires_at);
}

TEST_F(Housekeeping, ExpireBranchesDeletesWhatExpired) {
  BranchChange ttl;
  ttl.ttl_s = std::optional<int64_t>(1);
  ASSERT_TRUE(change_branch(*w.ctx, BranchRef{"prod", "dev"}, ttl));
  ExpiryRun run = expire_branches(*w.ctx);  // the fake clock moves a second per reading
  EXPECT_EQ(run.deleted, (std::vector<std::string>{"prod/dev"}));
  EXPECT_TRUE(run.errors.empty());
  EXPECT_FALSE(w.store->branch("prod", "dev")->has_value());
}

TEST_F(Housekeeping, ScheduleSnapshotsRunningBranchesWhenDueOnly) {
  ProjectChange change;
  change.snapshot_every_s = std::optional<int64_t>(3600);
  auto p = change_project(*w.ctx, "prod", change);
  ASSERT_TRUE(p) << p.error().message;
  // Each branch's newest snapshot is its base, taken moments ago: not due.
  EXPECT_TRUE(run_schedule(*w.ctx, *p).snapshots.empty());
  p->snapshot_every_s = 5;
  for (int i = 0; i < 10; ++i) (void)w.clock.now_us();
  ScheduleRun run = run_schedule(*w.ctx, *p);
  EXPECT_EQ(run.snapshots.size(), 2u) << (run.errors.empty() ? "" : run.errors[0]);
  auto snaps = *w.store->snapshots("prod", "main");
  ASSERT_FALSE(snaps.empty());
  EXPECT_TRUE(snaps.back().label->starts_with("sched-"));
}

TEST_F(Housekeeping, ServersStartOnTheirPrivatePortWhileTheDaemonServes) {
  auto dev = **w.store->branch("prod", "dev");
  ASSERT_TRUE(stop_branch(*w.ctx, dev));
  w.ctx->daemon_serving = [] { return true; };
  Instance in = instance_for(*w.ctx, dev);
  EXPECT_EQ(in.listen_port, private_port(dev.port));
  ASSERT_TRUE(start_branch(*w.ctx, dev));
  EXPECT_EQ(w.postgres.listening_port(in), private_port(dev.port));
  w.ctx->daemon_serving = [] { return false; };
  EXPECT_EQ(instance_for(*w.ctx, dev).start_port(), dev.port);
}

}  // namespace
}  // namespace pgd
