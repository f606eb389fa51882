#include "base/time_format.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace pgd {
namespace {

std::tm to_tm(int64_t us) {
  std::time_t secs = static_cast<std::time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return tm;
}

int64_t sub_second_us(int64_t us) { return ((us % 1'000'000) + 1'000'000) % 1'000'000; }

// Parses "[.fraction][Z|+HH[:MM]|-HH[:MM]]" from `rest`; returns the zone offset in seconds.
bool parse_tail(const std::string& rest, int64_t& frac_us, int& offset_s) {
  size_t i = 0;
  frac_us = 0;
  offset_s = 0;
  if (i < rest.size() && rest[i] == '.') {
    ++i;
    int64_t scale = 100'000;
    size_t start = i;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) {
      frac_us += (rest[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return false;
  }
  if (i == rest.size()) return true;
  if (rest[i] == 'Z' || rest[i] == 'z') return i + 1 == rest.size();
  if (rest[i] != '+' && rest[i] != '-') return false;
  int sign = rest[i] == '-' ? -1 : 1;
  int hh = 0, mm = 0;
  std::string zone = rest.substr(i + 1);
  if (zone.size() == 2 && std::sscanf(zone.c_str(), "%2d", &hh) == 1) {
  } else if (zone.size() == 5 && std::sscanf(zone.c_str(), "%2d:%2d", &hh, &mm) == 2) {
  } else if (zone.size() == 4 && std::sscanf(zone.c_str(), "%2d%2d", &hh, &mm) == 2) {
  } else {
    return false;
  }
  offset_s = sign * (hh * 3600 + mm * 60);
  return hh <= 14 && mm < 60;
}

}  // namespace

std::optional<int64_t> parse_iso8601_us(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  std::tm tm{};
  if (text.size() == 10 && std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) == 3 &&
      used == 10) {
  } else if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
                         &used) == 6 && used == 19) {
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  int64_t frac_us = 0;
  int offset_s = 0;
  if (used < static_cast<int>(text.size()) && !parse_tail(text.substr(used), frac_us, offset_s))
    return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t secs = ::timegm(&tm);
  std::tm check{};
  ::gmtime_r(&secs, &check);
  if (check.tm_mday != d) return std::nullopt;  // 2025-02-30 and the like
  return (static_cast<int64_t>(secs) - offset_s) * 1'000'000 + frac_us;
}

std::string format_iso8601_ms(int64_t us) {
  std::tm tm = to_tm(us);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     sub_second_us(us) / 1000);
}

std::string format_pg_timestamp(int64_t us) {
  std::tm tm = to_tm(us);
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.{:06d}+00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     sub_second_us(us));
}

std::string format_duration(int64_t s) {
  if (s < 0) s = 0;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

}  // namespace pgd
