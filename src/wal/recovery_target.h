// Point-in-time recovery targets: parsing what users type, and choosing the
// snapshot to replay from.
//
// A target is a time (absolute ISO 8601, or relative: "2 hours ago", "-30m"),
// an LSN ("0/3000060"), or else the label of one of the source's snapshots.
// Replay must start from a snapshot taken at or before the target: recovery
// from a crash-consistent snapshot first replays all WAL in its pg_wal, so a
// target inside that stretch would stop before a consistent state. A
// snapshot's recorded time and LSN are read just after it was taken, so they
// bound everything it holds: choosing the latest snapshot whose time (or LSN)
// is at or before the target is always safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace pgd::wal {

enum class TargetKind { Time, Lsn, Label };

struct RecoveryTarget {
  TargetKind kind = TargetKind::Time;
  std::string text;     // as the user typed it
  int64_t time_us = 0;  // Time
  uint64_t lsn = 0;     // Lsn
  std::string label;    // Label
};

// `now_us` resolves relative times. Anything not a time or LSN is taken as a
// label (validated like a name); an unparseable text is a Usage error.
Result<RecoveryTarget> parse_recovery_target(const std::string& text, int64_t now_us);

// What pitr needs to know of a snapshot to choose among them.
struct SnapshotPoint {
  std::string id;
  std::string label;
  int64_t time_us = 0;
  uint64_t lsn = 0;
};

// The snapshot to replay from: for a label, that snapshot; otherwise the
// latest taken at or before the target. Errors state the recoverable window.
Result<SnapshotPoint> choose_base(const std::vector<SnapshotPoint>& snapshots,
                                  const RecoveryTarget& target, int64_t now_us,
                                  const std::string& source);

}  // namespace pgd::wal
