// Time, behind an interface so tests can fix "now".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pgd::os {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock microseconds since the Unix epoch (UTC).
  virtual int64_t now_us() = 0;
  // now_us() as ISO 8601 UTC with milliseconds: 2026-11-24T18:03:00.123Z
  std::string now_iso8601();
};

// The system clock. PGD_NOW=<ISO 8601> pins "now" (a test hook for age-based
// cleanup; never needed in normal use).
class RealClock : public Clock {
 public:
  int64_t now_us() override;
};

// Milliseconds (with fractions) elapsed since `start`.
inline double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace pgd::os
