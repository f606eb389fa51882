#include "core/operation.h"

#include <signal.h>
#include <stdlib.h>

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
