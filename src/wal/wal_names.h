// WAL positions and segment file names, as PostgreSQL writes them.
// LSN: "16/B374D848" (high/low 32 bits in hex). Segment file: 24 hex digits,
// TTTTTTTT (timeline) XXXXXXXX YYYYYYYY, with segno = X * (4 GiB / segsize) + Y.
// Pure functions; pgd only supports the default 16 MiB segments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgd::wal {

inline constexpr uint64_t k_segment_bytes = 16ULL << 20;

std::optional<uint64_t> parse_lsn(const std::string& text);
std::string format_lsn(uint64_t lsn);

struct SegmentName {
  uint32_t timeline = 0;
  uint64_t segno = 0;
};
// Only plain segment names (24 hex digits); not .history, .partial or .backup files.
std::optional<SegmentName> parse_segment_name(const std::string& name);
uint64_t segno_of(uint64_t lsn);
// The file name of segment `segno` on `timeline` (inverse of parse_segment_name).
std::string segment_file_name(uint32_t timeline, uint64_t segno);

// The segment files an online backup needs, from its start (as its backup
// label names it: "START WAL LOCATION: 0/5000028 (file 000000010000000000000005)")
// to the segment holding the byte before `end_lsn`. Empty when either is unreadable.
std::vector<std::string> backup_segments(const std::string& backup_label, const std::string& end_lsn);

// The recycled segments among `names` (a pg_wal listing): segment files wholly
// past the WAL that ends at or before `end_lsn`. PostgreSQL renames old segments
// ahead of its insert position for reuse; they hold no WAL a clone needs. One
// segment after end_lsn's is kept: a record that starts before end_lsn (such as
// a shutdown checkpoint) may end in it.
std::vector<std::string> recycled_segments(const std::vector<std::string>& names, uint64_t end_lsn);

}  // namespace pgd::wal
