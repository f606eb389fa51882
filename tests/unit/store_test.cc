#include "state/store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/fakes.h"

namespace pgd {
namespace {

BranchRecord branch(const std::string& name) {
  BranchRecord b;
  b.project = "p";
  b.name = name;
  b.parent = "main";
  b.volume = "p/" + name;
  b.created_at = "2026-01-01T00:00:00.000Z";
  b.pg_version = 15;
  return b;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store = std::move(*Store::open(dir.path() + "/state.db"));
    BranchRecord main = branch("main");
    main.parent.reset();
    ASSERT_TRUE(store->insert_project({"p", 15, "2026-01-01T00:00:00.000Z"}, main, all_free));
  }
  // Damages the database behind the store's back, as another program or a
  // disk error could.
  void damage(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() + "/state.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  std::function<bool(int)> all_free = [](int) { return true; };
  test::TempDir dir;
  std::unique_ptr<Store> store;
};

TEST_F(StoreTest, DatabaseIsPrivate) {
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StoreTest, ReservationsFromTwoConnectionsGetDistinctPorts) {
  auto other = std::move(*Store::open(dir.path() + "/state.db"));
  auto a = store->reserve_branch(branch("a"), all_free);
  auto b = other->reserve_branch(branch("b"), all_free);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->port, b->port);
  EXPECT_EQ(store->branches("p")->size(), 3u);
}

TEST_F(StoreTest, DuplicateBranchIsAConflictAndChangesNothing) {
  ASSERT_TRUE(store->reserve_branch(branch("a"), all_free));
  auto again = store->reserve_branch(branch("a"), all_free);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(store->branches("p")->size(), 2u);
}

TEST_F(StoreTest, DuplicateProjectIsAConflict) {
  auto again = store->insert_project({"p", 15, "x"}, branch("main"), all_free);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "project 'p' already exists");
}

TEST_F(StoreTest, ReopeningKeepsDataAndSchema) {
  ASSERT_TRUE(store->set_branch_state("p", "main", BranchState::Stopped));
  store.reset();
  auto reopened = std::move(*Store::open(dir.path() + "/state.db"));
  EXPECT_EQ(reopened->branch("p", "main")->value().state, BranchState::Stopped);
}

TEST_F(StoreTest, PoolConfigRoundTrips) {
  EXPECT_FALSE(*store->pool());
  PoolConfig p{"btrfs", "file", "/var/lib/pgd/pool.img", "/var/lib/pgd/pool", 20ULL << 30, "pgd"};
  ASSERT_TRUE(store->save_pool(p));
  auto back = store->pool()->value();
  EXPECT_EQ(back.pool_file, p.pool_file);
  EXPECT_EQ(back.mount_point, p.mount_point);
  EXPECT_EQ(back.size_bytes, p.size_bytes);
  EXPECT_EQ(back.pg_user, "pgd");
}

TEST_F(StoreTest, DeleteProjectRemovesItsBranches) {
  ASSERT_TRUE(store->reserve_branch(branch("a"), all_free));
  ASSERT_TRUE(store->delete_project("p"));
  EXPECT_TRUE(store->branches()->empty());
  EXPECT_TRUE(store->projects()->empty());
}

TEST_F(StoreTest, ADamagedPoolRecordIsAnErrorNotNoPool) {
  ASSERT_TRUE(store->save_pool({"btrfs", "file", "/i.img", "/m", 1 << 30, "pgd"}));
  damage("UPDATE meta SET value = 'lots' WHERE key = 'pool.size_bytes'");
  auto pool = store->pool();
  ASSERT_FALSE(pool);
  EXPECT_NE(pool.error().message.find("the pool's record is damaged (pool.size_bytes = 'lots')"),
            std::string::npos);
}

TEST_F(StoreTest, AnUnreadablePoolRecordIsAnErrorNotNoPool) {
  damage("DROP TABLE meta");
  auto pool = store->pool();
  ASSERT_FALSE(pool);
  EXPECT_NE(pool.error().message.find("no such table: meta"), std::string::npos);
}

TEST_F(StoreTest, ListingProjectsFailsInsteadOfReturningNone) {
  damage("PRAGMA foreign_keys = OFF; DROP TABLE projects");
  auto projects = store->projects();
  ASSERT_FALSE(projects);
  EXPECT_NE(projects.error().message.find("list projects: no such table: projects"), std::string::npos);
}

TEST_F(StoreTest, ReservingFailsWhenThePortsInUseCannotBeRead) {
  damage("ALTER TABLE branches RENAME COLUMN port TO p0rt");
  auto r = store->reserve_branch(branch("a"), all_free);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no such column: port"), std::string::npos);
}

TEST_F(StoreTest, AForeignKeyFailureIsNotReportedAsADuplicate) {
  SnapshotRecord s{"s1", "p", "nobranch", std::string("before"), 1, "0/1", "0/1", "p/x@s1", 0};
  auto r = store->insert_snapshot(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Failure);
  EXPECT_NE(r.error().message.find("FOREIGN KEY constraint failed"), std::string::npos);
}

}  // namespace
}  // namespace pgd
