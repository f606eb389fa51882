// Ctrl-C at every safe point of every command that makes something: the
// command fails as Interrupted, undoes what it made, and doctor finds nothing.
#include <gtest/gtest.h>

#include "core/branches.h"
#include "core/projects.h"
#include "core/repair.h"
#include "core/snapshots.h"
#include "support/fakes.h"

namespace pgd {
namespace {

using test::FakeWorld;

// Runs `command` in a fresh world (prepared by `given`) with a signal arriving
// at check 0, 1, 2, ... until the command gets through; returns how many
// points it was interrupted at.
template <typename Given, typename Command, typename Check>
int interrupt_everywhere(Given given, Command command, Check check) {
  for (int at = 0;; ++at) {
    FakeWorld w;
    given(w);
    w.processes.interrupt_after = at;
    w.processes.interrupt_checks = 0;
    Status st = command(w);
    if (st) return at;
    EXPECT_EQ(st.error().kind, ErrorKind::Interrupted) << "at check " << at << ": " << st.error().message;
    EXPECT_TRUE(w.ctx->warnings.empty()) << "at check " << at << ": " << w.ctx->warnings[0];
    w.processes.interrupt_after = -1;
    auto findings = reconcile(*w.ctx, Mode::Report);
    EXPECT_TRUE(findings && findings->empty())
        << "at check " << at << ": " << (findings && !findings->empty() ? findings->front().subject : "");
    EXPECT_TRUE(w.store->intents()->empty()) << "at check " << at;
    check(w);
    if (at > 50) ADD_FAILURE() << "never got through";
    if (at > 50) return at;
  }
}

void project(FakeWorld& w) { ASSERT_TRUE(create_project(*w.ctx, "prod", std::nullopt)); }

TEST(Interrupts, ProjectCreateLeavesNothing) {
  int points = interrupt_everywhere(
      [](FakeWorld&) {},
      [](FakeWorld& w) -> Status {
        TRY(create_project(*w.ctx, "prod", std::nullopt));
        return {};
      },
      [](FakeWorld& w) {
        EXPECT_TRUE(w.store->projects()->empty());
        EXPECT_TRUE(w.storage.volumes.empty());
        EXPECT_TRUE(w.postgres.running.empty());
        EXPECT_FALSE(w.files.exists(w.ctx->paths.password_file("prod")));
      });
  EXPECT_GE(points, 4);
}

TEST(Interrupts, BranchCreateLeavesNothing) {
  int points = interrupt_everywhere(
      project,
      [](FakeWorld& w) -> Status {
        TRY(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
        return {};
      },
      [](FakeWorld& w) {
        EXPECT_FALSE(w.store->branch("prod", "dev")->has_value());
        EXPECT_FALSE(w.storage.exists("prod/dev"));
        EXPECT_EQ(w.postgres.running, std::set<std::string>{"/fake/prod/main"});
      });
  EXPECT_GE(points, 3);
}

TEST(Interrupts, ResetBeforeItsSwapLeavesTheBranchAsItWasAndRunning) {
  int points = interrupt_everywhere(
      [](FakeWorld& w) {
        project(w);
        ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
        w.storage.volumes["prod/dev"] = "dev's own data";
      },
      [](FakeWorld& w) -> Status {
        TRY(reset_branch(*w.ctx, BranchRef{"prod", "dev"}));
        return {};
      },
      [](FakeWorld& w) {
        EXPECT_EQ(w.storage.volumes["prod/dev"], "dev's own data");
        EXPECT_FALSE(w.storage.exists("prod/dev.reset"));
        EXPECT_TRUE(w.postgres.running.count("/fake/prod/dev"));
      });
  EXPECT_GE(points, 2);
}

TEST(Interrupts, SnapshotCreateLeavesNothing) {
  int points = interrupt_everywhere(
      project,
      [](FakeWorld& w) -> Status {
        TRY(create_snapshot(*w.ctx, BranchRef{"prod", "main"}, std::string("x")));
        return {};
      },
      [](FakeWorld& w) {
        auto left = *w.store->snapshots();
        ASSERT_EQ(left.size(), 1u);  // main's base
        EXPECT_EQ(left[0].kind, SnapshotKind::Base);
        for (const auto& [v, _] : w.storage.volumes)
          EXPECT_TRUE(v.find('@') == std::string::npos || v == left[0].volume) << v;
      });
  EXPECT_GE(points, 2);
}

TEST(Interrupts, ADeletionFinishes) {
  FakeWorld w;
  project(w);
  ASSERT_TRUE(create_branch(*w.ctx, BranchRef{"prod", "dev"}, std::nullopt));
  w.processes.interrupt_after = 0;
  ASSERT_TRUE(delete_branch(*w.ctx, BranchRef{"prod", "dev"}, Force::No));
  EXPECT_FALSE(w.store->branch("prod", "dev")->has_value());
  EXPECT_FALSE(w.storage.exists("prod/dev"));
}

}  // namespace
}  // namespace pgd
