#include "wal/wal_names.h"

#include <cctype>

#include <fmt/format.h>

#include "base/parse.h"

namespace pgd::wal {
namespace {

bool all_hex(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

constexpr uint64_t k_segments_per_xlogid = 0x100000000ULL / k_segment_bytes;

}  // namespace

std::optional<uint64_t> parse_lsn(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string hi = text.substr(0, slash), lo = text.substr(slash + 1);
  if (!all_hex(hi) || !all_hex(lo) || hi.size() > 8 || lo.size() > 8) return std::nullopt;
  auto h = parse_number<uint64_t>(hi, 16), l = parse_number<uint64_t>(lo, 16);
  if (!h || !l) return std::nullopt;
  return (*h << 32) | *l;
}

std::string format_lsn(uint64_t lsn) {
  return fmt::format("{:X}/{:X}", static_cast<uint32_t>(lsn >> 32), static_cast<uint32_t>(lsn));
}

std::optional<SegmentName> parse_segment_name(const std::string& name) {
  if (name.size() != 24 || !all_hex(name)) return std::nullopt;
  SegmentName s;
  auto timeline = parse_number<uint32_t>(std::string_view(name).substr(0, 8), 16);
  auto log = parse_number<uint64_t>(std::string_view(name).substr(8, 8), 16);
  auto seg = parse_number<uint64_t>(std::string_view(name).substr(16, 8), 16);
  if (!timeline || !log || !seg) return std::nullopt;
  s.timeline = *timeline;
  s.segno = *log * k_segments_per_xlogid + *seg;
  return s;
}

uint64_t segno_of(uint64_t lsn) { return lsn / k_segment_bytes; }

std::string segment_file_name(uint32_t timeline, uint64_t segno) {
  return fmt::format("{:08X}{:08X}{:08X}", timeline, segno / k_segments_per_xlogid,
                     segno % k_segments_per_xlogid);
}

std::vector<std::string> backup_segments(const std::string& backup_label,
                                         const std::string& end_lsn) {
  auto line = backup_label.find("START WAL LOCATION: ");
  if (line == std::string::npos) return {};
  auto file = backup_label.find("(file ", line);
  if (file == std::string::npos) return {};
  SegmentName start = parse_segment_name(backup_label.substr(file + 6, 24)).value_or(SegmentName{});
  uint64_t end = parse_lsn(end_lsn).value_or(0);
  if (start.timeline == 0 || end == 0 || segno_of(end - 1) < start.segno) return {};
  std::vector<std::string> out;
  for (uint64_t seg = start.segno; seg <= segno_of(end - 1); ++seg)
    out.push_back(segment_file_name(start.timeline, seg));
  return out;
}

std::vector<std::string> recycled_segments(const std::vector<std::string>& names,
                                           uint64_t end_lsn) {
  std::vector<std::string> out;
  for (const auto& name : names) {
    auto segment = parse_segment_name(name);
    if (segment && segment->segno > segno_of(end_lsn) + 1) out.push_back(name);
  }
  return out;
}

}  // namespace pgd::wal
