#include "postgres/config.h"

#include <gtest/gtest.h>

namespace pgd {
namespace {

TEST(RenderBranchConf, ListensOnLocalhostOnlyWithScram) {
  std::string conf = pg::render_branch_conf({54321, "/var/lib/pgd/run/54321", "pgd prod/dev"});
  EXPECT_NE(conf.find("port = 54321\n"), std::string::npos);
  EXPECT_NE(conf.find("listen_addresses = '127.0.0.1'\n"), std::string::npos);
  EXPECT_NE(conf.find("unix_socket_directories = '/var/lib/pgd/run/54321'\n"), std::string::npos);
  EXPECT_NE(conf.find("password_encryption = 'scram-sha-256'\n"), std::string::npos);
  EXPECT_NE(conf.find("cluster_name = 'pgd prod/dev'\n"), std::string::npos);
}

TEST(RenderBranchConf, LeavesCheckpointWritebackToTheFsync) {
  std::string conf = pg::render_branch_conf({54321, "/var/lib/pgd/run/54321", "pgd prod/dev"});
  EXPECT_NE(conf.find("\ncheckpoint_flush_after = 0\n"), std::string::npos);
}

TEST(ConfQuote, DoublesSingleQuotes) { EXPECT_EQ(pg::conf_quote("it's"), "'it''s'"); }

TEST(ParsePostmasterPid, ReadsFirstLine) {
  EXPECT_EQ(pg::parse_postmaster_pid("4242\n/data\n1700000000\n54321\n"), 4242);
}

TEST(ParsePostmasterPid, RejectsGarbage) {
  EXPECT_FALSE(pg::parse_postmaster_pid(""));
  EXPECT_FALSE(pg::parse_postmaster_pid("abc\n"));
  EXPECT_FALSE(pg::parse_postmaster_pid("12x\n"));
  EXPECT_FALSE(pg::parse_postmaster_pid("-5\n"));
}

TEST(PostmasterPidFor, IgnoresALockFileCopiedFromAnotherDataDirectory) {
  std::string content = "4242\n/pool/p/main\n1700000000\n";
  EXPECT_EQ(pg::postmaster_pid_for(content, "/pool/p/main"), 4242);
  EXPECT_FALSE(pg::postmaster_pid_for(content, "/pool/p/dev"));
}

TEST(PostmasterReady, ReadsThePaddedStatusLine) {
  std::string head = "4242\n/data\n1700000000\n54321\n/run/x\n127.0.0.1\n  1234  5678\n";
  EXPECT_TRUE(pg::postmaster_ready(head + "ready   \n"));
  EXPECT_FALSE(pg::postmaster_ready(head + "starting\n"));
  EXPECT_FALSE(pg::postmaster_ready(head + "standby \n"));
  EXPECT_FALSE(pg::postmaster_ready(head));
}

TEST(PostmasterStartTime, ReadsTheThirdLine) {
  EXPECT_EQ(pg::postmaster_start_time("4242\n/data\n1700000000\n54321\n"), 1700000000);
  EXPECT_FALSE(pg::postmaster_start_time("4242\n/data\n"));
  EXPECT_FALSE(pg::postmaster_start_time("4242\n/data\nsoon\n"));
}

}  // namespace
}  // namespace pgd

namespace pgd {
namespace {

TEST(PostmasterPid, ThePortIsOnLineFour) {
  std::string content = "4242\n/data\n1767225600\n27432\n/run/25432\n127.0.0.1\n  1 2\nready   \n";
  EXPECT_EQ(pg::postmaster_port(content), 27432);
  EXPECT_EQ(pg::postmaster_port("4242\n/data\n"), std::nullopt);
  EXPECT_EQ(pg::postmaster_port("4242\n/data\n1\nport\n"), std::nullopt);
}

}  // namespace
}  // namespace pgd
