#include "base/names.h"
#include "base/parse.h"

#include <gtest/gtest.h>

namespace pgd {
namespace {

TEST(ValidateName, AcceptsLowercaseDigitsDashUnderscore) {
  EXPECT_TRUE(validate_name("branch", "dev"));
  EXPECT_TRUE(validate_name("branch", "0day_fix-2"));
  EXPECT_TRUE(validate_name("branch", std::string(63, 'a')));
}

TEST(ValidateName, RejectsEverythingElseAsUsageError) {
  for (std::string bad : std::vector<std::string>{"", "Dev", "-dev", "_dev", "a b", "a/b", "..", "a.b", "a;rm", "a'b",
                          "a\"b", "a$b", "caf\xc3\xa9", std::string(64, 'a')}) {
    auto r = validate_name("branch", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::Usage) << bad;
  }
}

TEST(ValidateName, MessageNamesTheProblemAndTheRule) {
  auto r = validate_name("project", "a b");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "invalid project name 'a b': character ' ' is not allowed (use 1-63 characters: "
            "lowercase letters, digits, '-' and '_', starting with a letter or digit)");
}

TEST(ValidateName, ShowsNonPrintableBytesEscaped) {
  auto r = validate_name("branch", "a\nb");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'a\\x0ab'"), std::string::npos) << r.error().message;
}

TEST(ParseBranchRef, SplitsProjectAndBranch) {
  auto r = parse_branch_ref("prod/dev");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->project, "prod");
  EXPECT_EQ(r->branch, "dev");
  EXPECT_EQ(r->full(), "prod/dev");
}

TEST(ParseBranchRef, RejectsMissingSlashAndExtraSlash) {
  auto no_slash = parse_branch_ref("prod");
  ASSERT_FALSE(no_slash);
  EXPECT_EQ(no_slash.error().message,
            "invalid branch 'prod': expected <project>/<branch>, e.g. prod/dev");
  EXPECT_FALSE(parse_branch_ref("prod/dev/x"));
  EXPECT_FALSE(parse_branch_ref("/dev"));
  EXPECT_FALSE(parse_branch_ref("prod/"));
}

TEST(ParseSize, ReadsBinaryUnits) {
  EXPECT_EQ(*parse_size("20G"), 20ULL << 30);
  EXPECT_EQ(*parse_size("512M"), 512ULL << 20);
  EXPECT_EQ(*parse_size("1T"), 1ULL << 40);
  EXPECT_EQ(*parse_size("4096"), 4096u);
  EXPECT_EQ(*parse_size("2GB"), 2ULL << 30);
}

TEST(ParseSize, RejectsGarbageZeroNegativeAndOverflow) {
  for (std::string bad : std::vector<std::string>{"", "G", "-1G", "0", "1X", "1.5G", "99999999999999999999T", "20G "})
    EXPECT_FALSE(parse_size(bad)) << bad;
}

TEST(FormatBytes, UsesBinaryUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(20ULL << 30), "20.0 GiB");
}

}  // namespace
}  // namespace pgd

namespace pgd {
namespace {

TEST(ParseNumber, TakesTheWholeTextOrNothing) {
  EXPECT_EQ(parse_number<int>("15"), 15);
  EXPECT_EQ(parse_number<uint64_t>("FF", 16), 255u);
  EXPECT_FALSE(parse_number<int>(""));
  EXPECT_FALSE(parse_number<int>("15x"));
  EXPECT_FALSE(parse_number<uint32_t>("-1"));
  EXPECT_FALSE(parse_number<int>("99999999999"));  // does not fit: no exception
}

}  // namespace
}  // namespace pgd

namespace pgd {
namespace {

TEST(ParseDuration, UnitsFromSecondsToWeeks) {
  EXPECT_EQ(*parse_duration_s("45s"), 45);
  EXPECT_EQ(*parse_duration_s("5m"), 300);
  EXPECT_EQ(*parse_duration_s("1h"), 3600);
  EXPECT_EQ(*parse_duration_s("3d"), 3 * 86400);
  EXPECT_EQ(*parse_duration_s("2w"), 14 * 86400);
}

TEST(ParseDuration, RejectsWhatIsNotADurationAsUsageError) {
  for (const char* bad : {"", "5", "m", "0m", "-5m", "5x", "1.5h", "5 m", "99999999999d"}) {
    auto r = parse_duration_s(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::Usage) << bad;
  }
  EXPECT_EQ(parse_duration_s("soon").error().message,
            "invalid duration 'soon': use a number with s, m, h, d or w, e.g. 30m or 3d");
}

}  // namespace
}  // namespace pgd
