#include "core/imports.h"

#include <gtest/gtest.h>

#include "core/projects.h"
#include "core/snapshots.h"
#include "postgres/catalog.h"
#include "support/fake_copier.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeCopier;
using test::FakeWorld;

constexpr const char* k_source = "postgresql://app@db.example:5432/shop";

class Imports : public ::testing::Test {
 protected:
  void SetUp() override {
    // The copy answers the catalog queries as the source does: verified.
    for (auto& answer : test::small_database()) w.postgres.answers.push_back(answer);
  }
  ImportOptions options() {
    ImportOptions o;
    o.source = k_source;
    return o;
  }
  Result<Imported> import() { return import_project(*w.ctx, copier, "shop", options()); }
  // Nothing of the project anywhere: record, volumes, running servers.
  void expect_nothing_left() {
    EXPECT_FALSE(w.store->project("shop")->has_value());
    EXPECT_TRUE(w.store->branches("shop")->empty());
    EXPECT_TRUE(w.storage.list()->empty());
    EXPECT_TRUE(w.postgres.running.empty());
  }
  FakeWorld w;
  FakeCopier copier;
};

TEST_F(Imports, CopiesEachPhaseOnOneSnapshotAndRecordsTheSource) {
  auto r = import();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(copier.calls,
            (std::vector<std::string>{"connect", "dump_roles",
                                      "run_sql_file /fake/shop/main/pgd_import/roles.sql",
                                      "dump_schema 00000003-0000001B-1", "restore_schema pre jobs=1 create",
                                      "copy_data 1 streams 00000003-0000001B-1",
                                      "restore_schema post jobs=2"}));
  auto project = w.store->project("shop")->value();
  EXPECT_EQ(project.database, "shop");
  EXPECT_EQ(project.source, k_source);
  EXPECT_TRUE(project.copied_at);
  EXPECT_EQ(r->stats.rows, 3);
  EXPECT_EQ(r->stats.tables, 1u);
  EXPECT_EQ(r->created.branch.state, BranchState::Running);
  // The work files are gone before the base snapshot is taken.
  EXPECT_FALSE(w.files.exists("/fake/shop/main/pgd_import"));
}

TEST_F(Imports, LoadsWithoutFsyncThenFlushesAndRunsWithMainsSettings) {
  ASSERT_TRUE(import());
  auto setting = [](const std::vector<std::pair<std::string, std::string>>& all, const std::string& key) {
    for (const auto& [k, v] : all)
      if (k == key) return v;
    return std::string("(unset)");
  };
  const auto& starts = w.postgres.started_with["/fake/shop/main"];
  ASSERT_EQ(starts.size(), 2u);  // the bulk load, then main as itself
  EXPECT_EQ(setting(starts[0], "fsync"), "off");
  EXPECT_EQ(setting(starts[0], "wal_level"), "minimal");
  EXPECT_EQ(setting(starts[0], "archive_mode"), "off");
  EXPECT_EQ(setting(starts[1], "fsync"), "(unset)");
  EXPECT_EQ(setting(starts[1], "archive_mode"), "on");
  // Durable before the base snapshot: a clean stop, then the flush.
  auto& calls = w.postgres.calls;
  auto at = [&](const std::string& c) { return std::find(calls.begin(), calls.end(), c) - calls.begin(); };
  ASSERT_LT(at("sync /fake/shop/main"), static_cast<long>(calls.size()));
  EXPECT_LT(at("stop /fake/shop/main"), at("sync /fake/shop/main"));
}

TEST_F(Imports, APasswordInTheSourceIsAUsageErrorAndNothingIsAsked) {
  ImportOptions o = options();
  o.source = "postgresql://app:s3cret@db.example/shop";
  auto r = import_project(*w.ctx, copier, "shop", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos);
  EXPECT_TRUE(copier.calls.empty());
  expect_nothing_left();
}

TEST_F(Imports, AskedPasswordReachesTheToolsButNoRecord) {
  copier.connect_error = "fe_sendauth: no password supplied";
  ImportOptions o = options();
  int asked = 0;
  o.ask_password = [&]() -> std::optional<std::string> { ++asked; return "s3cret"; };
  ASSERT_TRUE(import_project(*w.ctx, copier, "shop", o));
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(copier.passwords[1], "s3cret");  // the second connect
  EXPECT_EQ(copier.passwords[2], "s3cret");  // pg_dumpall
  EXPECT_EQ(w.store->project("shop")->value().source, k_source);
}

TEST_F(Imports, WithoutAPasswordAnywhereTheErrorSaysWhereToPutIt) {
  copier.connect_error = "fe_sendauth: no password supplied";
  auto r = import();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("PGPASSWORD"), std::string::npos) << r.error().message;
  expect_nothing_left();
}

TEST_F(Imports, ANewerSourceIsRefusedBeforeAnythingIsMade) {
  copier.server_version = "160002";
  auto r = import();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("PostgreSQL 16"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("postgresql-16"), std::string::npos);
  EXPECT_EQ(copier.calls, std::vector<std::string>{"connect"});
  expect_nothing_left();
}

TEST_F(Imports, AMissingExtensionNamesItsPackageBeforeAnythingIsMade) {
  copier.source[3].second = {{"pg_trgm"}, {"plpgsql"}, {"postgis"}};
  auto r = import();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("apt-get install postgresql-15-postgis-3"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(copier.calls, std::vector<std::string>{"connect"});
  expect_nothing_left();
}

TEST_F(Imports, ASourceBiggerThanThePoolsFreeSpaceIsRefusedBeforeAnythingIsMade) {
  w.storage.free = 40ULL << 20;
  auto r = import();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("the source database shop takes 8.6 MiB"), std::string::npos)
      << r.error().message;
  expect_nothing_left();
}

TEST_F(Imports, ACopyThatDiffersFailsWithTheDifferenceAndLeavesNothing) {
  w.postgres.answers.insert(w.postgres.answers.begin(), {"count(*) from only", {{"public.orders", "2"}}});
  auto r = import();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("table public.orders: 3 rows in the source, 2 in the copy"),
            std::string::npos) << r.error().message;
  expect_nothing_left();
}

TEST_F(Imports, AFailedDataCopyLeavesNothing) {
  copier.fail_at = "copy_data";
  auto r = import();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("connection lost"), std::string::npos);
  expect_nothing_left();
}

TEST_F(Imports, AnExistingProjectIsRefusedBeforeTheSourceIsAsked) {
  ASSERT_TRUE(create_project(*w.ctx, "shop", std::nullopt));
  copier.calls.clear();
  auto r = import();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Conflict);
  EXPECT_TRUE(copier.calls.empty());
}

class Refresh : public Imports {
 protected:
  void SetUp() override {
    Imports::SetUp();
    ASSERT_TRUE(import());
    w.storage.volumes["shop/main"] = "old-copy";
    copier.calls.clear();
  }
  Result<Imported> refresh() { return refresh_project(*w.ctx, copier, "shop", ImportOptions{}); }
};

TEST_F(Refresh, SwapsANewVerifiedCopyInAndKeepsTheOldMainAsASnapshot) {
  int port = w.store->branch("shop", "main")->value().port;
  auto r = refresh();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(w.storage.volumes["shop/main"], "");  // the fresh copy
  EXPECT_FALSE(w.storage.exists("shop/main.refresh"));
  ASSERT_TRUE(r->before_refresh);
  EXPECT_EQ(r->before_refresh->label->rfind("before-refresh-", 0), 0u);
  EXPECT_EQ(w.storage.volumes[r->before_refresh->volume], "old-copy");
  auto main = w.store->branch("shop", "main")->value();
  EXPECT_EQ(main.port, port);
  EXPECT_EQ(main.state, BranchState::Running);
  // One base, of the new cluster; the old main's snapshot is kept but not replayed.
  auto snapshots = *w.store->snapshots("shop", "main");
  auto window = replayable(snapshots);
  ASSERT_EQ(window.size(), 1u);
  EXPECT_EQ(window[0].kind, SnapshotKind::Base);
  EXPECT_EQ(snapshots.size(), 2u);
}

TEST_F(Refresh, AStoppedMainStaysStopped) {
  auto main = w.store->branch("shop", "main")->value();
  ASSERT_TRUE(stop_branch(*w.ctx, main));
  ASSERT_TRUE(refresh());
  EXPECT_FALSE(w.postgres.running.count("/fake/shop/main"));
  EXPECT_EQ(w.store->branch("shop", "main")->value().state, BranchState::Stopped);
}

TEST_F(Refresh, AFailedCopyLeavesTheOldMainServingUntouched) {
  copier.fail_at = "copy_data";
  auto r = refresh();
  ASSERT_FALSE(r);
  EXPECT_EQ(w.storage.volumes["shop/main"], "old-copy");
  EXPECT_FALSE(w.storage.exists("shop/main.refresh"));
  EXPECT_TRUE(w.postgres.running.count("/fake/shop/main"));
  auto snapshots = *w.store->snapshots("shop", "main");
  for (const auto& s : snapshots) EXPECT_EQ(s.kind, SnapshotKind::Base);
}

TEST_F(Refresh, AProjectThatWasNotImportedHasNothingToRefreshFrom) {
  ASSERT_TRUE(create_project(*w.ctx, "plain", std::nullopt));
  auto r = refresh_project(*w.ctx, copier, "plain", ImportOptions{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_NE(r.error().message.find("was not imported"), std::string::npos);
}

TEST(Catalog, ASequenceMayHaveMovedOnWhileTheCopyWasMade) {
  pg::Catalog before, source, copy;
  before.sequence_values["s"] = "10";
  source.sequence_values["s"] = "20";
  copy.sequence_values["s"] = "15";
  EXPECT_TRUE(pg::compare_catalogs(before, source, copy).empty());
  copy.sequence_values["s"] = "21";
  auto diff = pg::compare_catalogs(before, source, copy);
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0], "sequence s: 21 in the copy, 10 to 20 in the source");
}

TEST(Catalog, ListsMissingAndExtraObjectsByKind) {
  pg::Catalog source, copy;
  source.lists["views"] = {"public.a", "public.b"};
  copy.lists["views"] = {"public.b", "public.c"};
  source.large_objects = 2;
  auto diff = pg::compare_catalogs(source, source, copy);
  EXPECT_EQ(diff, (std::vector<std::string>{"views missing from the copy: public.a",
                                            "views in the copy but not in the source: public.c",
                                            "large objects: 2 in the source, 0 in the copy"}));
}

TEST(Catalog, RolesThatExistAreNotCreatedAgain) {
  std::string sql = "CREATE ROLE app;\nALTER ROLE app WITH LOGIN;\nCREATE ROLE postgres;\n"
                    "ALTER ROLE postgres WITH SUPERUSER;\nCREATE ROLE \"Odd Name\";\n";
  EXPECT_EQ(pg::drop_existing_roles(sql, {"postgres", "\"Odd Name\""}),
            "CREATE ROLE app;\nALTER ROLE app WITH LOGIN;\nALTER ROLE postgres WITH SUPERUSER;\n");
}

TEST(Catalog, StreamsShareTheBytesBiggestFirst) {
  std::map<std::string, pg::TableInfo> tables{{"a", {"A", 100}}, {"b", {"B", 60}},
                                              {"c", {"C", 50}},  {"d", {"D", 10}}};
  auto groups = pg::plan_streams(tables, 2);
  EXPECT_EQ(groups, (std::vector<TableGroup>{{"A", "D"}, {"B", "C"}}));  // 110 and 110 bytes
  EXPECT_EQ(pg::plan_streams(tables, 1), (std::vector<TableGroup>{{"A", "B", "C", "D"}}));
  // Never an empty stream; no table, no stream.
  EXPECT_EQ(pg::plan_streams({{"a", {"A", 1}}}, 4).size(), 1u);
  EXPECT_TRUE(pg::plan_streams({}, 2).empty());
}

TEST(Catalog, ExtensionPackagesFollowDebiansNames) {
  EXPECT_EQ(pg::package_for_extension("postgis", 15), "postgresql-15-postgis-3");
  EXPECT_EQ(pg::package_for_extension("vector", 15), "postgresql-15-pgvector");
  EXPECT_EQ(pg::package_for_extension("plpython3u", 15), "postgresql-plpython3-15");
  EXPECT_EQ(pg::package_for_extension("pg_repack", 15), "postgresql-15-pg-repack");
}

TEST(Sources, PasswordsAndNonsenseAreUsageErrors) {
  EXPECT_TRUE(check_source("postgresql://app@db/shop"));
  EXPECT_TRUE(check_source("service=prod"));
  EXPECT_TRUE(check_source("host=db dbname=shop user=app"));
  for (const char* bad : {"postgresql://app:pw@db/shop", "host=db password=pw",
                          "postgresql://db/shop?password=pw", "host=db dbname='unterminated", ""}) {
    auto st = check_source(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().kind, ErrorKind::Usage) << bad;
  }
}

TEST(Sources, AnyDatabaseNameQuotesIntoAConnectionString) {
  EXPECT_EQ(pg::conninfo_quote("shop"), "'shop'");
  EXPECT_EQ(pg::conninfo_quote("Shop's \\ DB"), "'Shop\\'s \\\\ DB'");
  // libpq reads it back as the same name.
  auto check = pg::check_conninfo("host=x dbname=" + pg::conninfo_quote("Shop's \\ DB"));
  EXPECT_TRUE(check.error.empty()) << check.error;
  EXPECT_EQ(check.dbname, "Shop's \\ DB");
}

TEST(Sources, BoundedSettingsJoinAUriOrAKeyValueString) {
  std::vector<std::pair<std::string, std::string>> s{{"connect_timeout", "5"}, {"keepalives", "1"}};
  EXPECT_EQ(pg::with_settings("postgresql://app@db/shop", s),
            "postgresql://app@db/shop?connect_timeout=5&keepalives=1");
  EXPECT_EQ(pg::with_settings("postgresql://app@db/shop?sslmode=require", s),
            "postgresql://app@db/shop?sslmode=require&connect_timeout=5&keepalives=1");
  EXPECT_EQ(pg::with_settings("service=prod", s), "service=prod connect_timeout=5 keepalives=1");
}

}  // namespace
}  // namespace pgd
