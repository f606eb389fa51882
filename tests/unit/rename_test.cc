#include "core/rename.h"

#include <gtest/gtest.h>

#include "core/branches.h"
#include "core/projects.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

class Rename : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt));
    w.storage.volumes["prod/main"] = "main-data";
    ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
    ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "child"}, BranchRef{"prod", "dev"}));
    w.files.dirs.insert(w.ctx->paths.wal_dir("prod", "dev"));
    w.files.files[w.ctx->paths.wal_dir("prod", "dev") + "/000000010000000000000001"].content = "wal";
    w.files.files[w.ctx->paths.log_file("prod", "dev")].content = "log";
  }
  bool has_branch(const std::string& name) { return w.store->branch("prod", name)->has_value(); }
  FakeWorld w;
};

TEST_F(Rename, MovesEverythingThatCarriesTheName) {
  int port = w.store->branch("prod", "dev")->value().port;
  auto r = rename_branch(*w.ctx, BranchRef{"prod", "dev"}, BranchRef{"prod", "x"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->restarted);
  EXPECT_EQ(r->branch.port, port);
  EXPECT_EQ(r->branch.volume, "prod/x");
  EXPECT_FALSE(has_branch("dev"));
  EXPECT_EQ(w.store->branch("prod", "child")->value().parent, "x");
  EXPECT_TRUE(w.storage.volumes.count("prod/x"));
  EXPECT_FALSE(w.storage.volumes.count("prod/dev"));
  EXPECT_EQ(w.files.files[w.ctx->paths.wal_dir("prod", "x") + "/000000010000000000000001"].content, "wal");
  EXPECT_EQ(w.files.files[w.ctx->paths.log_file("prod", "x")].content, "log");
  EXPECT_FALSE(w.files.exists(w.ctx->paths.log_file("prod", "dev")));
  EXPECT_TRUE(w.store->intents()->empty());
}

TEST_F(Rename, RefusesMainANameInUseAndAnotherProject) {
  auto main = rename_branch(*w.ctx, BranchRef{"prod", "main"}, BranchRef{"prod", "x"});
  ASSERT_FALSE(main);
  EXPECT_EQ(main.error().kind, ErrorKind::Usage);
  auto to_main = rename_branch(*w.ctx, BranchRef{"prod", "dev"}, BranchRef{"prod", "main"});
  ASSERT_FALSE(to_main);
  EXPECT_EQ(to_main.error().kind, ErrorKind::Usage);
  auto taken = rename_branch(*w.ctx, BranchRef{"prod", "dev"}, BranchRef{"prod", "child"});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().kind, ErrorKind::Conflict);
  auto other = rename_branch(*w.ctx, BranchRef{"prod", "dev"}, BranchRef{"test", "dev"});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().kind, ErrorKind::Usage);
  EXPECT_TRUE(has_branch("dev"));
  EXPECT_TRUE(w.storage.volumes.count("prod/dev"));
}

TEST_F(Rename, FinishCompletesFromAnyHalfMovedState) {
  // Killed after the archive moved, before the volume and the records.
  ASSERT_TRUE(w.files.rename(w.ctx->paths.wal_dir("prod", "dev"), w.ctx->paths.wal_dir("prod", "x")));
  ASSERT_TRUE(finish_rename(*w.ctx, RenameNames{"prod", "dev", "x"}));
  EXPECT_TRUE(has_branch("x"));
  EXPECT_FALSE(has_branch("dev"));
  EXPECT_TRUE(w.storage.volumes.count("prod/x"));
  EXPECT_TRUE(w.files.exists(w.ctx->paths.log_file("prod", "x")));
  // Again, with everything done: nothing to do, nothing broken.
  ASSERT_TRUE(finish_rename(*w.ctx, RenameNames{"prod", "dev", "x"}));
  EXPECT_TRUE(w.storage.volumes.count("prod/x"));
}

TEST(RenameSubject, RoundTrips) {
  EXPECT_EQ(rename_subject("shop", "dev", "feature-x"), "shop/dev -> shop/feature-x");
  auto n = parse_rename_subject("shop/dev -> shop/feature-x");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->project + " " + n->from + " " + n->to, "shop dev feature-x");
  EXPECT_FALSE(parse_rename_subject("shop/dev"));
  EXPECT_FALSE(parse_rename_subject("shop/dev -> other/dev"));
}

}  // namespace
}  // namespace pgd
