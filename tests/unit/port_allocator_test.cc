#include "state/port_allocator.h"

#include <gtest/gtest.h>

namespace pgd {
namespace {

TEST(PickPort, TakesLowestUnrecordedFreePort) {
  auto all_free = [](int) { return true; };
  EXPECT_EQ(pick_port({}, all_free, 100, 105), 100);
  EXPECT_EQ(pick_port({100, 101}, all_free, 100, 105), 102);
}

TEST(PickPort, SkipsPortsInUseByOtherProgramsAndFailsWhenFull) {
  auto busy_102 = [](int p) { return p != 102; };
  EXPECT_EQ(pick_port({100, 101}, busy_102, 100, 105), 103);
  EXPECT_EQ(pick_port({100, 101, 103}, busy_102, 100, 103), std::nullopt);
}

}  // namespace
}  // namespace pgd

namespace pgd {
namespace {

TEST(PickPort, SkipsAPortWhosePrivateTwinIsTaken) {
  // `pgd serve` moves a branch's server to its private port; a port whose twin
  // another program holds would fail its first wake.
  auto twin_busy = [](int p) { return p != private_port(25432); };
  EXPECT_EQ(pick_port({}, twin_busy), 25433);
  EXPECT_EQ(private_port(k_first_port), k_last_port + 1);
}

}  // namespace
}  // namespace pgd
