#include "postgres/native_replication.h"

#include <signal.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "base/parse.h"
#include "base/strings.h"
#include "postgres/native_copy.h"
#include "postgres/sql.h"

namespace pgd {
namespace {

std::string label(const Primary& p) { return "primary " + p.conninfo; }

Result<pg::Connection> replication_connection(const Primary& p) {
  pg::ConnectParams params;
  params.conninfo = pg::with_settings(p.conninfo, {{"replication", "true"}});
  params.password = p.password;
  params.connect_timeout_s = p.timeout_s;
  params.label = label(p);
  return pg::Connection::open(params);
}

}  // namespace

Result<PrimaryInfo> NativeReplication::identify(const Primary& p) {
  TRY_ASSIGN(auto conn, replication_connection(p));
  PrimaryInfo info;
  info.version_num = conn.server_version();
  info.password = conn.password_used();
  info.endpoint = conn.endpoint_conninfo();
  TRY_ASSIGN(auto id, conn.query_row("IDENTIFY_SYSTEM", 2));
  info.system_id = id[0];
  TRY_ASSIGN(auto level, conn.query_row("SHOW wal_level", 1));
  info.wal_level = level[0];
  return info;
}

Status NativeReplication::create_slot(const Primary& p, const std::string& slot) {
  TRY_ASSIGN(auto conn, replication_connection(p));
  auto st = conn.exec(fmt::format("CREATE_REPLICATION_SLOT {} PHYSICAL RESERVE_WAL", slot));
  if (!st && st.error().message.find("already exists") != std::string::npos)
    return fail(ErrorKind::Conflict,
                fmt::format("{}: replication slot '{}' already exists there (another standby's?): "
                            "choose another --slot, or drop it on the primary if it is unused",
                            label(p), slot));
  return st;
}

Status NativeReplication::drop_slot(const Primary& p, const std::string& slot) {
  TRY_ASSIGN(auto conn, replication_connection(p));
  // A walreceiver that just stopped may hold the slot for a moment longer.
  for (int attempt = 0;; ++attempt) {
    auto st = conn.exec(fmt::format("DROP_REPLICATION_SLOT {}", slot));
    if (st || st.error().message.find("does not exist") != std::string::npos) return {};
    if (attempt >= 50 || st.error().message.find("is active") == std::string::npos) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status NativeReplication::base_backup(int pg_version, const Primary& p, const std::string& slot,
                                      const std::string& dir, const Watch& watch) {
  auto tool = [&](const char* name) { return fmt::format("{}/{}/bin/{}", m_bin_root, pg_version, name); };
  // --status-interval=1: pg_basebackup streams WAL from a forked child that
  // notices its parent's death only when it next wakes, every status interval
  // (10 s by default): a pgd killed with -9 left it holding the slot past
  // doctor's 10 s of retries to drop it (seen in follow_test).
  std::vector<std::string> argv{tool("pg_basebackup"), "-D", dir, "-X", "stream", "-c", "fast",
                                "--status-interval=1", "--manifest-checksums=SHA256", "--no-password", "--progress",
                                "-d", pg::with_settings(p.conninfo, pg::bounded_connection(p.timeout_s))};
  if (!slot.empty()) argv.insert(argv.end(), {"-S", slot});
  os::RunOptions o;
  o.as_user = m_user;
  o.cwd = "/";
  o.env = {{"LC_MESSAGES", "C"}, {"PGPASSFILE", p.passfile}};
  o.on_tick = watch.keep_going;
  std::string pending;
  // --progress rewrites one line with \r: each rewrite is a line to the watcher.
  o.on_output = [&](std::string_view chunk) {
    if (!watch.on_line) return;
    pending.append(chunk);
    size_t end;
    while ((end = pending.find_first_of("\r\n")) != std::string::npos) {
      if (end > 0) watch.on_line(pending.substr(0, end));
      pending.erase(0, end + 1);
    }
  };
  TRY_ASSIGN(auto r, os::run(argv, o));
  if (r.exit_code == 128 + SIGTERM && watch.keep_going && !watch.keep_going())
    return fail(ErrorKind::Interrupted, label(p) + ": pg_basebackup stopped");
  if (r.exit_code != 0)
    return fail(fmt::format("{}: pg_basebackup failed (exit {}): {}", label(p), r.exit_code,
                            tool_error_tail(r.output)));
  o.on_output = nullptr;
  o.env = {{"LC_MESSAGES", "C"}};
  TRY_ASSIGN(auto v, os::run({tool("pg_verifybackup"), "--quiet", dir}, o));
  if (v.exit_code != 0)
    return fail(fmt::format("{}: the base backup in {} did not verify: {}", label(p), dir,
                            tool_error_tail(v.output)));
  return {};
}

}  // namespace pgd
