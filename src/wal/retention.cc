#include "wal/retention.h"

#include "wal/wal_names.h"

namespace pgd::wal {
namespace {

// "000000010000000000000003.partial", "...00000003.00000028.backup": the segment part.
std::optional<SegmentName> segment_of(const std::string& name) {
  if (name.size() < 24) return std::nullopt;
  return parse_segment_name(name.substr(0, 24));
}

}  // namespace

std::vector<ArchivedFile> removable_files(const std::vector<ArchivedFile>& files,
                                          std::optional<uint64_t> keep_from_segno,
                                          int64_t cutoff_s) {
  std::vector<ArchivedFile> out;
  for (const auto& f : files) {
    if (f.mtime_s >= cutoff_s) continue;
    auto seg = segment_of(f.name);
    if (!seg) continue;  // .history and anything unknown: keep
    if (keep_from_segno && seg->segno >= *keep_from_segno) continue;
    out.push_back(f);
  }
  return out;
}

}  // namespace pgd::wal
