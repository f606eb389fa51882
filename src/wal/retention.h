// WAL retention: which archived files `pgd wal cleanup` may delete.
//
// A file may go when it is older than the cut-off AND no retained snapshot of
// the branch could need it. Recovery from a snapshot replays from the REDO
// point of the checkpoint taken just before it, so every segment whose number
// is at or after the oldest retained snapshot's REDO segment must stay, on any
// timeline. Timeline history files are tiny and needed to follow timelines:
// they always stay. With no snapshot, no base exists to replay the WAL onto,
// so age alone decides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wal/archive.h"

namespace pgd::wal {

// `keep_from_segno`: the oldest retained snapshot's REDO segment, if any.
// `cutoff_s`: files with mtime before this (seconds since the epoch) are old.
std::vector<ArchivedFile> removable_files(const std::vector<ArchivedFile>& files,
                                          std::optional<uint64_t> keep_from_segno,
                                          int64_t cutoff_s);

}  // namespace pgd::wal
