// A Replication that answers as a primary would, recording each call, with
// failures on demand; its errors are worded as the real one's.
#pragma once

#include <fmt/format.h>

#include <set>
#include <string>
#include <vector>

#include "postgres/replication.h"
#include "support/fakes.h"

namespace pgd::test {

class FakeReplication : public Replication {
 public:
  FakeFiles* files = nullptr;  // the base backup writes its files here
  std::vector<std::string> calls;
  std::set<std::string> slots;   // on the "primary"
  int version_num = 150004;
  std::string fail_identify;     // the connection's error, if any
  bool fail_backup = false;
  std::vector<Primary> seen;     // each call's primary, passwords included

  Result<PrimaryInfo> identify(const Primary& p) override {
    calls.push_back("identify " + p.conninfo);
    seen.push_back(p);
    if (!fail_identify.empty())
      return fail(fmt::format("primary {}: connect: {}", p.conninfo, fail_identify));
    return PrimaryInfo{version_num, "7400000000000000001", "s3cret:pw", "replica",
                       "host='db.example' port='5432' user='replicator'"};
  }
  Status create_slot(const Primary& p, const std::string& slot) override {
    calls.push_back("create_slot " + slot);
    seen.push_back(p);
    if (slots.count(slot))
      return fail(ErrorKind::Conflict, fmt::format("primary {}: replication slot '{}' already exists there", p.conninfo, slot));
    slots.insert(slot);
    return {};
  }
  Status drop_slot(const Primary& p, const std::string& slot) override {
    calls.push_back("drop_slot " + slot);
    seen.push_back(p);
    slots.erase(slot);
    return {};
  }
  Status base_backup(int pg_version, const Primary& p, const std::string& slot, const std::string& dir,
                     const Watch&) override {
    calls.push_back(fmt::format("base_backup {} {} slot={}", pg_version, dir, slot));
    seen.push_back(p);
    if (fail_backup) return fail(fmt::format("primary {}: pg_basebackup failed (exit 1): could not connect", p.conninfo));
    return files->write_atomic(dir + "/PG_VERSION", "15\n", 0600);
  }
};

}  // namespace pgd::test
