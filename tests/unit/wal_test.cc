#include <gtest/gtest.h>

#include "wal/recovery_target.h"
#include "wal/retention.h"
#include "wal/wal_names.h"

namespace pgd::wal {
namespace {

constexpr int64_t k_now = 1759847400LL * 1'000'000;  // 2025-10-07T14:30:00Z

TEST(Lsn, ParsesAndFormats) {
  EXPECT_EQ(parse_lsn("0/3000060"), 0x3000060u);
  EXPECT_EQ(parse_lsn("16/B374D848"), (0x16ULL << 32) | 0xB374D848);
  EXPECT_EQ(format_lsn(0x3000060), "0/3000060");
  EXPECT_FALSE(parse_lsn("3000060"));
  EXPECT_FALSE(parse_lsn("0/xyz"));
  EXPECT_FALSE(parse_lsn("/1"));
}

TEST(SegmentName, MapsToSegmentNumbers) {
  auto s = parse_segment_name("00000002000000010000000A");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->timeline, 2u);
  EXPECT_EQ(s->segno, 256u + 10u);
  EXPECT_EQ(segno_of(*parse_lsn("1/0A000000")), 256u + 10u);
  EXPECT_FALSE(parse_segment_name("00000002.history"));
  EXPECT_FALSE(parse_segment_name("00000001000000000000000A.partial"));
}

TEST(SegmentName, FormatsTheInverseOfParse) {
  EXPECT_EQ(segment_file_name(2, 256 + 10), "00000002000000010000000A");
  EXPECT_EQ(segment_file_name(1, segno_of(*parse_lsn("0/3000028"))), "000000010000000000000003");
}

TEST(BackupSegments, RunFromTheLabelsStartFileToTheEndLsn) {
  std::string label =
      "START WAL LOCATION: 0/5000028 (file 000000010000000000000005)\n"
      "CHECKPOINT LOCATION: 0/5000060\nBACKUP METHOD: streamed\n";
  EXPECT_EQ(backup_segments(label, "0/5000100"), std::vector<std::string>{"000000010000000000000005"});
  EXPECT_EQ(backup_segments(label, "0/7000000"),
            (std::vector<std::string>{"000000010000000000000005", "000000010000000000000006"}));
  EXPECT_EQ(backup_segments(label, "0/7000001").size(), 3u);
  EXPECT_TRUE(backup_segments(label, "0/4000000").empty());
  EXPECT_TRUE(backup_segments("no label", "0/5000100").empty());
  EXPECT_TRUE(backup_segments(label, "garbage").empty());
}

TEST(RecycledSegments, AreThePlainSegmentsBeyondTheNextOne) {
  std::vector<std::string> names = {"000000010000000000000004", "000000010000000000000005",
                                    "000000010000000000000006", "000000010000000000000007",
                                    "000000010000000100000000", "00000002.history",
                                    "000000010000000000000008.partial", "archive_status"};
  // WAL ends in segment 5: 4 and 5 stay, and 6 (a record may end in it).
  EXPECT_EQ(recycled_segments(names, *parse_lsn("0/5000100")),
            (std::vector<std::string>{"000000010000000000000007", "000000010000000100000000"}));
  // Segment numbers, not names, decide: 1/0 is segment 256, after 0/FF000000.
  EXPECT_EQ(recycled_segments(names, *parse_lsn("0/FF000000")), std::vector<std::string>{});
  EXPECT_EQ(recycled_segments(names, *parse_lsn("0/7000000")).size(), 1u);
  EXPECT_TRUE(recycled_segments({}, 0).empty());
}

TEST(Retention, KeepsEverythingFromTheSnapshotsRedoSegmentOnAndHistoryFiles) {
  std::vector<ArchivedFile> files{{"000000010000000000000001", 16, 10},
                                  {"000000010000000000000002", 16, 10},
                                  {"000000010000000000000003", 16, 10},
                                  {"000000020000000000000003.partial", 16, 10},
                                  {"00000002.history", 1, 10},
                                  {"000000020000000000000004", 16, 10}};
  auto gone = removable_files(files, 3, 100);
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0].name, "000000010000000000000001");
  EXPECT_EQ(gone[1].name, "000000010000000000000002");
}

TEST(Retention, KeepsFilesYoungerThanTheCutoff) {
  std::vector<ArchivedFile> files{{"000000010000000000000001", 16, 50},
                                  {"000000010000000000000002", 16, 150}};
  auto gone = removable_files(files, std::nullopt, 100);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].name, "000000010000000000000001");
}

TEST(RecoveryTarget, ReadsAbsoluteTimes) {
  auto t = parse_recovery_target("2025-10-07T14:30:00Z", k_now);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TargetKind::Time);
  EXPECT_EQ(t->time_us, k_now);
  EXPECT_EQ(parse_recovery_target("2025-10-07 16:30:00+02:00", k_now)->time_us, k_now);
  EXPECT_EQ(parse_recovery_target("2025-10-07T14:30:00.25Z", k_now)->time_us, k_now + 250'000);
}

TEST(RecoveryTarget, ReadsRelativeTimes) {
  EXPECT_EQ(parse_recovery_target("2 hours ago", k_now)->time_us, k_now - 7200LL * 1'000'000);
  EXPECT_EQ(parse_recovery_target("30 minutes ago", k_now)->time_us, k_now - 1800LL * 1'000'000);
  EXPECT_EQ(parse_recovery_target("-30m", k_now)->time_us, k_now - 1800LL * 1'000'000);
  EXPECT_EQ(parse_recovery_target("-1d", k_now)->time_us, k_now - 86400LL * 1'000'000);
  EXPECT_EQ(parse_recovery_target("0 seconds ago", k_now)->time_us, k_now);
}

TEST(RecoveryTarget, ReadsLsnsAndLabels) {
  auto lsn = parse_recovery_target("0/3000060", k_now);
  ASSERT_TRUE(lsn);
  EXPECT_EQ(lsn->kind, TargetKind::Lsn);
  EXPECT_EQ(lsn->lsn, 0x3000060u);
  auto label = parse_recovery_target("before-migration", k_now);
  ASSERT_TRUE(label);
  EXPECT_EQ(label->kind, TargetKind::Label);
}

TEST(RecoveryTarget, RejectsGarbageAsUsageError) {
  for (const char* bad : {"", "yesterday!", "2025-13-01T00:00:00Z", "2025-02-30", "-5x", "2 fortnights ago"}) {
    auto r = parse_recovery_target(bad, k_now);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::Usage) << bad;
  }
}

std::vector<SnapshotPoint> snaps() {
  return {{"a", "first", k_now - 3600LL * 1'000'000, 0x1000000},
          {"b", "", k_now - 600LL * 1'000'000, 0x5000000}};
}

TEST(ChooseBase, PicksTheLatestSnapshotAtOrBeforeTheTarget) {
  RecoveryTarget t{TargetKind::Time, "x", k_now - 1200LL * 1'000'000};
  EXPECT_EQ(choose_base(snaps(), t, k_now, "p/main")->id, "a");
  t.time_us = k_now - 60LL * 1'000'000;
  EXPECT_EQ(choose_base(snaps(), t, k_now, "p/main")->id, "b");
  RecoveryTarget l{TargetKind::Lsn, "0/4000000", 0, 0x4000000};
  EXPECT_EQ(choose_base(snaps(), l, k_now, "p/main")->id, "a");
}

TEST(ChooseBase, TargetBeforeTheFirstSnapshotStatesTheWindow) {
  RecoveryTarget t{TargetKind::Time, "x", k_now - 7200LL * 1'000'000};
  auto r = choose_base(snaps(), t, k_now, "p/main");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "cannot recover to 2025-10-07T12:30:00.000Z: it is before the first snapshot; the "
            "recoverable window of 'p/main' is 2025-10-07T13:30:00.000Z (its first snapshot) to now");
}

TEST(ChooseBase, FutureTargetIsAUsageError) {
  RecoveryTarget t{TargetKind::Time, "x", k_now + 1'000'000};
  auto r = choose_base(snaps(), t, k_now, "p/main");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
}

TEST(ChooseBase, UnknownLabelIsNotFound) {
  RecoveryTarget t{TargetKind::Label, "nope", 0, 0, "nope"};
  auto r = choose_base(snaps(), t, k_now, "p/main");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "'p/main' has no snapshot labelled 'nope' (see 'pgd snapshot list p/main')");
}

}  // namespace
}  // namespace pgd::wal
