// Wall-clock times as microseconds since the Unix epoch (UTC), and their text.
// Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgd {

// "2025-10-07T14:30:00Z", "2025-10-07 14:30:00.25+02:00", "2025-10-07T14:30:00"
// (no zone: UTC), "2025-10-07" (midnight UTC).
std::optional<int64_t> parse_iso8601_us(const std::string& text);
// 1759847400000000 -> "2025-10-07T14:30:00.000Z" (milliseconds, truncated)
std::string format_iso8601_ms(int64_t us);
// For PostgreSQL settings: "2025-10-07 14:30:00.123456+00"
std::string format_pg_timestamp(int64_t us);
// A duration for people: 42 -> "42s", 3720 -> "1h02m", 200000 -> "2d07h".
std::string format_duration(int64_t seconds);

}  // namespace pgd
