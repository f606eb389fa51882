#include "wal/recovery_target.h"

#include <cctype>
#include <regex>

#include <fmt/format.h>

#include "base/parse.h"
#include "base/time_format.h"
#include "base/names.h"
#include "wal/wal_names.h"

namespace pgd::wal {
namespace {

// "2 hours ago", "30 min ago", "1 day ago", "-30m", "-2h", "-45s", "-1d" -> microseconds.
std::optional<int64_t> parse_relative_us(const std::string& text) {
  static const std::regex words(R"(^\s*(\d+)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days)\s+ago\s*$)");
  static const std::regex dash(R"(^-(\d+)(s|m|h|d)$)");
  std::smatch m;
  if (!std::regex_match(text, m, words) && !std::regex_match(text, m, dash)) return std::nullopt;
  if (m[1].str().size() > 9) return std::nullopt;
  auto parsed = parse_number<int64_t>(m[1].str());
  if (!parsed) return std::nullopt;
  int64_t n = *parsed;
  char unit = m[2].str()[0];
  int64_t seconds = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
  return n * seconds * 1'000'000;
}

std::string window(const std::vector<SnapshotPoint>& snaps, const std::string& source) {
  if (snaps.empty())
    return fmt::format("'{}' has no snapshots, so nothing can be recovered; take one with: pgd "
                       "snapshot create {}",
                       source, source);
  return fmt::format("the recoverable window of '{}' is {} (its first snapshot) to now", source,
                     format_iso8601_ms(snaps.front().time_us));
}

}  // namespace

Result<RecoveryTarget> parse_recovery_target(const std::string& text, int64_t now_us) {
  RecoveryTarget t;
  t.text = text;
  if (auto abs = parse_iso8601_us(text)) {
    t.time_us = *abs;
    return t;
  }
  if (auto rel = parse_relative_us(text)) {
    t.time_us = now_us - *rel;
    return t;
  }
  if (auto lsn = parse_lsn(text)) {
    t.kind = TargetKind::Lsn;
    t.lsn = *lsn;
    return t;
  }
  static const std::regex date_like(R"(^\d{4}-\d{2}-\d{2}.*)");
  if (std::regex_match(text, date_like))
    return fail(ErrorKind::Usage, fmt::format("invalid --pitr time '{}': use ISO 8601, e.g. "
                                              "2025-10-07T14:30:00Z", text));
  if (validate_name("snapshot label", text)) {
    t.kind = TargetKind::Label;
    t.label = text;
    return t;
  }
  return fail(ErrorKind::Usage,
              fmt::format("invalid --pitr target '{}': use a time (2025-10-07T14:30:00Z), a "
                          "relative time (\"2 hours ago\", -30m), an LSN (0/3000060) or a "
                          "snapshot label", text));
}

Result<SnapshotPoint> choose_base(const std::vector<SnapshotPoint>& snaps,
                                  const RecoveryTarget& target, int64_t now_us,
                                  const std::string& source) {
  if (target.kind == TargetKind::Label) {
    for (const auto& s : snaps)
      if (s.label == target.label) return s;
    return fail(ErrorKind::NotFound,
                fmt::format("'{}' has no snapshot labelled '{}' (see 'pgd snapshot list {}')",
                            source, target.label, source));
  }
  if (target.kind == TargetKind::Time && target.time_us > now_us)
    return fail(ErrorKind::Usage,
                fmt::format("recovery target {} is in the future; {}",
                            format_iso8601_ms(target.time_us), window(snaps, source)));
  const SnapshotPoint* best = nullptr;
  for (const auto& s : snaps) {
    bool before = target.kind == TargetKind::Time ? s.time_us <= target.time_us : s.lsn <= target.lsn;
    if (before && (!best || s.time_us > best->time_us)) best = &s;
  }
  if (!best) {
    std::string what = target.kind == TargetKind::Time ? format_iso8601_ms(target.time_us)
                                                       : "LSN " + format_lsn(target.lsn);
    if (snaps.empty()) return fail(fmt::format("cannot recover to {}: {}", what, window(snaps, source)));
    std::string first = target.kind == TargetKind::Time
                            ? window(snaps, source)
                            : fmt::format("the first snapshot of '{}' is at LSN {} ({})", source,
                                          format_lsn(snaps.front().lsn),
                                          format_iso8601_ms(snaps.front().time_us));
    return fail(fmt::format("cannot recover to {}: it is before the first snapshot; {}", what, first));
  }
  return *best;
}

}  // namespace pgd::wal
