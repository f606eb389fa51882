#include "base/time_format.h"

#include <gtest/gtest.h>

namespace pgd {
namespace {

constexpr int64_t k_now = 1759847400LL * 1'000'000;  // 2025-10-07T14:30:00Z

TEST(TimeFormat, RoundTrips) {
  EXPECT_EQ(format_iso8601_ms(k_now + 123'456), "2025-10-07T14:30:00.123Z");
  EXPECT_EQ(format_pg_timestamp(k_now + 123'456), "2025-10-07 14:30:00.123456+00");
  EXPECT_EQ(parse_iso8601_us("2025-10-07"), k_now - (14 * 3600LL + 1800) * 1'000'000);
}

TEST(FormatDuration, PicksTwoUnits) {
  EXPECT_EQ(format_duration(42), "42s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(125), "2m05s");
  EXPECT_EQ(format_duration(200000), "2d07h");
}

}  // namespace
}  // namespace pgd
