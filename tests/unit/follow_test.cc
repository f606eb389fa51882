#include "core/follow.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/branches.h"
#include "core/projects.h"
#include "core/secrets.h"
#include "postgres/config.h"
#include "support/fake_replication.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeReplication;
using test::FakeWorld;

constexpr const char* k_primary = "postgresql://replicator@db.example:5432/postgres";

class Follow : public ::testing::Test {
 protected:
  void SetUp() override {
    repl.files = &w.files;
    w.ctx->replication = &repl;
  }
  Result<BranchCreated> follow(const std::string& slot = "pgd_shop") {
    FollowOptions o;
    o.primary = k_primary;
    o.slot = slot;
    return follow_project(*w.ctx, "shop", o);
  }
  bool called(const std::vector<std::string>& calls, const std::string& prefix) {
    return std::any_of(calls.begin(), calls.end(), [&](const std::string& c) { return c.starts_with(prefix); });
  }
  void expect_nothing_left() {
    EXPECT_FALSE(w.store->project("shop")->has_value());
    EXPECT_TRUE(w.store->branches("shop")->empty());
    EXPECT_TRUE(w.storage.list()->empty());
    EXPECT_TRUE(w.postgres.running.empty());
    EXPECT_FALSE(w.files.exists(w.ctx->paths.replication_passfile("shop")));
  }
  FakeWorld w;
  FakeReplication repl;
};

TEST_F(Follow, MakesMainAStandbyOfABaseBackupThroughItsOwnSlot) {
  auto r = follow();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(repl.calls, (std::vector<std::string>{"identify " + std::string(k_primary), "create_slot pgd_shop",
                                                  "base_backup 15 /fake/shop/main slot=pgd_shop"}));
  // The tools use what libpq resolved, with the password from the 0600 passfile.
  EXPECT_EQ(repl.seen.back().conninfo, "host='db.example' port='5432' user='replicator'");
  std::string passfile = w.ctx->paths.replication_passfile("shop");
  EXPECT_EQ(repl.seen.back().passfile, passfile);
  EXPECT_EQ(w.files.files[passfile].content, "*:*:*:*:s3cret\\:pw\n");
  EXPECT_EQ(w.files.files[passfile].mode, 0600u);
  // main is configured as a standby (no initdb), then base, then started.
  EXPECT_FALSE(called(w.postgres.calls, "initdb"));
  auto standby = std::find_if(w.postgres.calls.begin(), w.postgres.calls.end(),
                              [](const std::string& c) { return c.starts_with("standby /fake/shop/main"); });
  ASSERT_NE(standby, w.postgres.calls.end());
  EXPECT_NE(standby->find("passfile='" + passfile + "'"), std::string::npos);
  EXPECT_NE(standby->find("slot=pgd_shop"), std::string::npos);
  EXPECT_EQ(standby->find("s3cret"), std::string::npos);
  auto project = w.store->project("shop")->value();
  EXPECT_TRUE(project.following());
  EXPECT_EQ(project.slot, "pgd_shop");
  EXPECT_TRUE(project.slot_owned);
  EXPECT_EQ(r->branch.state, BranchState::Running);
  EXPECT_EQ(w.store->snapshots("shop", "main")->size(), 1u);  // the start of production's history here
}

TEST_F(Follow, RefusesAPrimaryOfAVersionNotInstalledBeforeAnythingIsMade) {
  repl.version_num = 160001;
  auto r = follow();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("the primary runs PostgreSQL 16"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("install postgresql-16"), std::string::npos);
  EXPECT_EQ(repl.calls.size(), 1u);  // identify only: no slot, no backup
  expect_nothing_left();
}

TEST_F(Follow, ASlotInUseIsLeftAloneAndNothingIsMade) {
  repl.slots.insert("pgd_shop");
  auto r = follow();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Conflict);
  EXPECT_TRUE(repl.slots.count("pgd_shop"));  // not ours: never dropped
  EXPECT_FALSE(called(repl.calls, "drop_slot"));
  expect_nothing_left();
}

TEST_F(Follow, AFailedBaseBackupDropsTheSlotItMadeAndEverythingElse) {
  repl.fail_backup = true;
  auto r = follow();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("pg_basebackup failed"), std::string::npos);
  EXPECT_TRUE(repl.slots.empty());
  EXPECT_TRUE(called(repl.calls, "drop_slot pgd_shop"));
  expect_nothing_left();
}

TEST_F(Follow, TheConnectionsErrorIsReportedAsIs) {
  repl.fail_identify = "FATAL:  must be superuser or replication role to start walsender";
  auto r = follow();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("replication role"), std::string::npos);
  expect_nothing_left();
}

TEST_F(Follow, UsageErrorsComeFirst) {
  FollowOptions o;
  o.primary = "postgresql://replicator:pw@db.example/postgres";
  auto r = follow_project(*w.ctx, "shop", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_FALSE(follow("Bad-Slot"));
  EXPECT_TRUE(repl.calls.empty());
}

TEST_F(Follow, PgdsSessionsWithAFollowingMainUsePeerAuthentication) {
  ASSERT_TRUE(follow());
  auto main = w.store->branch("shop", "main")->value();
  EXPECT_TRUE(is_following_main(*w.ctx, main));
  EXPECT_EQ(*session_password(*w.ctx, main), "");
}

TEST_F(Follow, ABranchOfAFollowingMainIsMadeAsAnyBranchThenGetsTheProjectsPassword) {
  ASSERT_TRUE(follow());
  w.postgres.calls.clear();
  // Read on main right after the clone: the last commit it had replayed.
  w.postgres.answers.insert(w.postgres.answers.begin(),
                            {"pg_last_xact_replay_timestamp", {{"0/2000000", "0/2000100", "2026-12-07T10:00:00.123456Z"}}});
  auto r = create_branch(*w.ctx, BranchRef{"shop", "dev"}, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->branch.as_of, "2026-12-07T10:00:00.123456Z");
  EXPECT_EQ(w.store->branch("shop", "dev")->value().as_of, "2026-12-07T10:00:00.123456Z");
  auto& calls = w.postgres.calls;
  auto at = [&](const std::string& c) { return std::find(calls.begin(), calls.end(), c) - calls.begin(); };
  long n = static_cast<long>(calls.size());
  // Crash recovery of the clone replays all it holds, as for any branch; no archive recovery.
  EXPECT_EQ(at("recover /fake/shop/dev"), n);
  ASSERT_LT(at("clone /fake/shop/dev"), n);
  const std::string alter = "exec ALTER ROLE postgres PASSWORD 'SCRAM-SHA-256$4096:fake' /fake/shop/dev";
  ASSERT_LT(at(alter), n);
  EXPECT_LT(at("start /fake/shop/dev"), at(alter));
  // The verifier is computed once per project and kept 0600 beside its password.
  EXPECT_EQ(w.files.files[w.ctx->paths.verifier_file("shop")].content, "SCRAM-SHA-256$4096:fake");
  EXPECT_EQ(w.files.files[w.ctx->paths.verifier_file("shop")].mode, 0600u);
  ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"shop", "qa"}, std::nullopt));
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "encrypt postgres"), 1);
  // Its base is taken before its first start, as for any branch.
  EXPECT_EQ(w.store->snapshots("shop", "dev")->size(), 1u);
  EXPECT_FALSE(is_following_main(*w.ctx, r->branch));
  auto phases = r->timings;
  EXPECT_TRUE(std::any_of(phases.begin(), phases.end(), [](const auto& p) { return p.first == "own"; }));
}

TEST_F(Follow, PromoteEndsFollowingDropsTheSlotAndSetsTheProjectsPassword) {
  ASSERT_TRUE(follow());
  w.postgres.answers.insert(w.postgres.answers.begin(), {"pg_promote", {{"t"}}});
  auto st = promote_project(*w.ctx, "shop");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(called(w.postgres.calls, "exec ALTER ROLE postgres PASSWORD 'SCRAM-SHA-256$4096:fake' /fake/shop/main"));
  EXPECT_TRUE(called(w.postgres.calls, "end-following /fake/shop/main"));
  EXPECT_TRUE(repl.slots.empty());
  auto project = w.store->project("shop")->value();
  EXPECT_FALSE(project.following());
  EXPECT_TRUE(project.promoted_at);
  EXPECT_FALSE(w.files.exists(w.ctx->paths.replication_passfile("shop")));
  auto main = w.store->branch("shop", "main")->value();
  EXPECT_NE(*session_password(*w.ctx, main), "");
  auto again = promote_project(*w.ctx, "shop");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::Conflict);
}

TEST_F(Follow, DeletingTheProjectDropsItsSlot) {
  ASSERT_TRUE(follow());
  ASSERT_TRUE(delete_project(*w.ctx, "shop", Force::No));
  EXPECT_TRUE(repl.slots.empty());
  expect_nothing_left();
}

TEST(FollowConfig, RecoveryMinimaComeFromPgControl) {
  auto minima = pg::recovery_minima({{"max_connections setting", "300"},
                                     {"max_worker_processes setting", "16"},
                                     {"max_wal_senders setting", "10"},
                                     {"max_prepared_xacts setting", "0"},
                                     {"max_locks_per_xact setting", "128"},
                                     {"Database cluster state", "in production"}});
  EXPECT_EQ(minima, (std::vector<std::pair<std::string, std::string>>{{"max_connections", "300"},
                                                                     {"max_worker_processes", "16"},
                                                                     {"max_wal_senders", "10"},
                                                                     {"max_prepared_transactions", "0"},
                                                                     {"max_locks_per_transaction", "128"}}));
  auto conf = pg::render_standby_postgresql_conf(minima);
  EXPECT_NE(conf.find("max_connections = 300\n"), std::string::npos);
  // pgd.conf, then the follow file: its settings win over pgd.conf's.
  EXPECT_LT(conf.find("include_if_exists = 'pgd.conf'"), conf.find("include_if_exists = 'pgd-follow.conf'"));
}

TEST(FollowConfig, TheFollowFileNamesThePassfileAndArchivesWhatArrives) {
  auto conf = pg::render_follow_conf({"host=db passfile=/p/primary.pgpass", "pgd_shop"});
  EXPECT_NE(conf.find("primary_conninfo = 'host=db passfile=/p/primary.pgpass'"), std::string::npos);
  EXPECT_NE(conf.find("primary_slot_name = 'pgd_shop'"), std::string::npos);
  EXPECT_NE(conf.find("archive_mode = 'always'"), std::string::npos);
  EXPECT_EQ(pg::render_follow_conf({"host=db", ""}).find("primary_slot_name"), std::string::npos);
  EXPECT_EQ(pg::pgpass_line("a:b\\c"), "*:*:*:*:a\\:b\\\\c\n");
  EXPECT_NE(pg::render_standby_hba().find("local   all   postgres                     peer map=pgd"),
            std::string::npos);
  EXPECT_EQ(pg::render_standby_ident({"pgd", "root"}),
            "# Written by pgd: the OS users that may be postgres on the private socket.\n"
            "pgd   pgd   postgres\npgd   root   postgres\n");
}

}  // namespace
}  // namespace pgd
