#include "os/clock.h"

#include <cstdlib>

#include "base/time_format.h"

namespace pgd::os {

std::string Clock::now_iso8601() { return format_iso8601_ms(now_us()); }

int64_t RealClock::now_us() {
  if (const char* pinned = std::getenv("PGD_NOW"); pinned && *pinned)
    if (auto us = parse_iso8601_us(pinned)) return *us;
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pgd::os
