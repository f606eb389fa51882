#include "core/operation.h"

#include <signal.h>
#include <stdlib.h>

#include <optional>

#include <gtest/gtest.h>

#include "core/projects.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

TEST(Operation, HoldsTheProjectLockAndJournalsItsSteps) {
  FakeWorld w;
  {
    auto op = Operation::begin(*w.ctx, "branch.create", "prod", "prod/dev");
    ASSERT_TRUE(op) << op.error().message;
    EXPECT_TRUE(w.files.locked.count(w.ctx->paths.lock_file("prod")));
    ASSERT_TRUE(op->step("cloned"));
    auto intents = *w.store->intents();
    ASSERT_EQ(intents.size(), 1u);
    EXPECT_EQ(intents[0].op, "branch.create");
    EXPECT_EQ(intents[0].subject, "prod/dev");
    EXPECT_EQ(intents[0].step, "cloned");
    EXPECT_EQ(intents[0].pid, 100);  // the fake's own pid
  }
  EXPECT_TRUE(w.store->intents()->empty());
  EXPECT_TRUE(w.files.locked.empty());
}

TEST(Operation, ASecondCommandOnTheSameProjectIsRefused) {
  FakeWorld w;
  auto first = Operation::begin(*w.ctx, "branch.create", "prod", "prod/a");
  ASSERT_TRUE(first);
  auto second = Operation::begin(*w.ctx, "branch.create", "prod", "prod/b");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(second.error().message, "project 'prod' is busy: another pgd command holds it; try again");
  EXPECT_EQ(w.store->intents()->size(), 1u);
  EXPECT_TRUE(Operation::begin(*w.ctx, "branch.create", "other", "other/b"));
}

TEST(Operation, ACreateLetsTheProjectGoWhileItStartsAndEveryOtherHolderWaitsForIt) {
  FakeWorld w;
  const std::string project_lock = w.ctx->paths.lock_file("prod");
  const std::string starts = w.ctx->paths.starts_lock_file("prod");
  std::optional<Operation> create;
  {
    auto begun = Operation::begin_create(*w.ctx, "branch.create", "prod", "prod/a");
    ASSERT_TRUE(begun) << begun.error().message;
    create.emplace(std::move(*begun));
  }
  EXPECT_TRUE(w.files.locked.count(project_lock));
  EXPECT_EQ(w.files.shared_locked.count(starts), 1u);
  EXPECT_FALSE(Operation::begin_create(*w.ctx, "branch.create", "prod", "prod/b")) << "the reserve and clone are serial";

  create->release_project_lock();
  EXPECT_FALSE(w.files.locked.count(project_lock));
  {
    auto second = Operation::begin_create(*w.ctx, "branch.create", "prod", "prod/b");
    ASSERT_TRUE(second) << "a second create goes on while the first starts its server";
    second->release_project_lock();
    EXPECT_EQ(w.files.shared_locked.count(starts), 2u);
    auto other = Operation::begin(*w.ctx, "branch.delete", "prod", "prod/c");
    ASSERT_FALSE(other) << "a delete waits until no create is starting";
    EXPECT_EQ(other.error().kind, ErrorKind::Conflict);
    EXPECT_FALSE(w.files.locked.count(project_lock)) << "and holds nothing meanwhile";
  }
  EXPECT_FALSE(lock_project(*w.ctx, "prod", 0));
  create.reset();  // the create ends
  EXPECT_EQ(w.files.shared_locked.count(starts), 0u);
  EXPECT_TRUE(Operation::begin(*w.ctx, "branch.delete", "prod", "prod/c"));
}

TEST(Operation, ReleasingIsANoOpForOtherOperations) {
  FakeWorld w;
  auto op = Operation::begin(*w.ctx, "branch.reset", "prod", "prod/dev");
  ASSERT_TRUE(op);
  op->release_project_lock();
  EXPECT_TRUE(w.files.locked.count(w.ctx->paths.lock_file("prod")));
  EXPECT_TRUE(w.files.locked.count(w.ctx->paths.starts_lock_file("prod")));
}

TEST(Operation, PgdFaultKillsTheProcessAtTheNamedStep) {
  FakeWorld w;
  ::setenv("PGD_FAULT", "branch.create:cloned", 1);
  auto op = Operation::begin(*w.ctx, "branch.create", "prod", "prod/dev");
  ASSERT_TRUE(op);
  EXPECT_TRUE(w.processes.signals.empty());
  ASSERT_TRUE(op->step("cloned"));
  ::unsetenv("PGD_FAULT");
  ASSERT_EQ(w.processes.signals.size(), 1u);
  EXPECT_EQ(w.processes.signals[0], std::make_pair(100, SIGKILL));
}

}  // namespace
}  // namespace pgd
