#include "clients/client_files.h"

#include <gtest/gtest.h>


namespace pgd {
namespace {

ClientEntry entry(const std::string& service, int port, const std::string& password) {
  return ClientEntry{service, "127.0.0.1", port, "postgres", "postgres", password, "", ""};
}

TEST(ClientFiles, ServiceBlockNamesEveryBranchWithoutPasswords) {
  auto e = entry("prod-dev", 54321, "s3cret");
  e.sslmode = "verify-full";
  e.sslrootcert = "/var/lib/pgd/tls/prod/ca.crt";
  std::string block = render_service_block({e});
  EXPECT_EQ(block, std::string(k_block_begin) +
                       "\n[prod-dev]\nhost=127.0.0.1\nport=54321\nuser=postgres\ndbname=postgres\n"
                       "sslmode=verify-full\nsslrootcert=/var/lib/pgd/tls/prod/ca.crt\ngssencmode=disable\n\n" +
                       k_block_end + "\n");
  EXPECT_EQ(block.find("s3cret"), std::string::npos);
}

TEST(ClientFiles, PgpassBlockEscapesColonsAndBackslashes) {
  EXPECT_EQ(render_pgpass_block({entry("p-main", 54320, "a:b\\c")}),
            std::string(k_block_begin) + "\n127.0.0.1:54320:*:postgres:a\\:b\\\\c\n" + k_block_end + "\n");
}

TEST(ClientFiles, NoEntriesMeansNoBlock) {
  EXPECT_EQ(render_service_block({}), "");
  EXPECT_EQ(render_pgpass_block({}), "");
}

TEST(ClientFiles, NewBlockGoesFirstAndKeepsTheUsersLines) {
  std::string user = "*:*:*:postgres:mine\n";
  std::string block = render_pgpass_block({entry("p-main", 54320, "x")});
  EXPECT_EQ(replace_block(user, block), block + user);
}

TEST(ClientFiles, ReplacesOnlyItsOwnBlock) {
  std::string before = "[mine]\nhost=db\n\n";
  std::string after = "[other]\nport=5432\n";
  std::string old_block = render_service_block({entry("p-a", 1, "x")});
  std::string new_block = render_service_block({entry("p-b", 2, "y")});
  EXPECT_EQ(replace_block(before + old_block + after, new_block), before + new_block + after);
}

TEST(ClientFiles, EmptyBlockRemovesItEntirely) {
  std::string user = "[mine]\nhost=db\n";
  std::string block = render_service_block({entry("p-a", 1, "x")});
  EXPECT_EQ(replace_block(block + user, ""), user);
  EXPECT_EQ(replace_block(user, ""), user);
}

}  // namespace
}  // namespace pgd
