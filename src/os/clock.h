// Time, behind an interface so tests can fix "now".
#pragma once

#include <chrono>
#include <string>

namespace pgd::os {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time as ISO 8601 UTC with milliseconds: 2026-11-24T18:03:00.123Z
  virtual std::string now_iso8601() = 0;
  virtual std::chrono::steady_clock::time_point steady_now() = 0;
};

class RealClock : public Clock {
 public:
  std::string now_iso8601() override;
  std::chrono::steady_clock::time_point steady_now() override {
    return std::chrono::steady_clock::now();
  }
};

// Milliseconds (with fractions) elapsed since `start`.
inline double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace pgd::os
