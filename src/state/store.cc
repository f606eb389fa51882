#include "state/store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <set>

#include <fmt/format.h>

#include "base/parse.h"
#include "state/migrations.h"
#include "state/port_allocator.h"

namespace pgd {
namespace {

constexpr int k_busy_timeout_ms = 60'000;


// A prepared statement that finalizes itself; binds by position from 1. One
// that failed to prepare fails its step() with the prepare's code, so the
// failure reaches the caller's check and sqlite3_errmsg still names it.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql)
      : m_prepare_rc(sqlite3_prepare_v2(db, sql.c_str(), -1, &m_s, nullptr)) {}
  ~Stmt() { sqlite3_finalize(m_s); }
  bool ok() const { return m_s != nullptr; }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(m_s, i, v.c_str(), -1, SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(m_s, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::optional<std::string>& v) {
    if (v) return bind(i, *v);
    sqlite3_bind_null(m_s, i);
    return *this;
  }
  Stmt& bind(int i, const std::optional<int64_t>& v) {
    if (v) return bind(i, *v);
    sqlite3_bind_null(m_s, i);
    return *this;
  }
  int step() {
    if (!m_s) return m_prepare_rc == SQLITE_OK ? SQLITE_MISUSE : m_prepare_rc;
    return sqlite3_step(m_s);
  }
  std::string text(int col) const {
    auto p = sqlite3_column_text(m_s, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  std::optional<std::string> opt_text(int col) const {
    if (sqlite3_column_type(m_s, col) == SQLITE_NULL) return std::nullopt;
    return text(col);
  }
  int64_t integer(int col) const { return sqlite3_column_int64(m_s, col); }
  std::optional<int64_t> opt_integer(int col) const {
    if (sqlite3_column_type(m_s, col) == SQLITE_NULL) return std::nullopt;
    return integer(col);
  }

 private:
  sqlite3_stmt* m_s = nullptr;
  int m_prepare_rc = SQLITE_OK;
};

// A duplicate key, as opposed to any other constraint (a foreign key, NOT NULL).
bool is_duplicate(sqlite3* db, int rc) {
  if (rc != SQLITE_CONSTRAINT) return false;
  int ext = sqlite3_extended_errcode(db);
  return ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE;
}

const char* k_project_columns =
    "name, pg_version, created_at, database, source, copied_at, primary_source, slot, slot_owned, "
    "promoted_at, idle_stop_s, snapshot_every_s, keep_snapshots_s, keep_wal_s";

ProjectRecord read_project(const Stmt& s) {
  ProjectRecord p{s.text(0), static_cast<int>(s.integer(1)), s.text(2), s.text(3),
                  s.opt_text(4), s.opt_text(5)};
  p.primary = s.opt_text(6);
  p.slot = s.opt_text(7);
  p.slot_owned = s.integer(8) != 0;
  p.promoted_at = s.opt_text(9);
  p.idle_stop_s = s.opt_integer(10);
  p.snapshot_every_s = s.opt_integer(11);
  p.keep_snapshots_s = s.opt_integer(12);
  p.keep_wal_s = s.opt_integer(13);
  return p;
}

const char* k_branch_columns =
    "project, name, parent, port, state, volume, created_at, pg_version, as_of, expires_at, "
    "idle_stop_s, protected";

BranchRecord read_branch(const Stmt& s) {
  BranchRecord b;
  b.project = s.text(0);
  b.name = s.text(1);
  b.parent = s.opt_text(2);
  b.port = static_cast<int>(s.integer(3));
  b.state = parse_branch_state(s.text(4)).value_or(BranchState::Creating);
  b.volume = s.text(5);
  b.created_at = s.text(6);
  b.pg_version = static_cast<int>(s.integer(7));
  b.as_of = s.opt_text(8);
  b.expires_at = s.opt_text(9);
  b.idle_stop_s = s.opt_integer(10);
  b.is_protected = s.integer(11) != 0;
  return b;
}

}  // namespace

std::string to_string(BranchState state) {
  switch (state) {
    case BranchState::Creating: return "creating";
    case BranchState::Running: return "running";
    case BranchState::Stopped: return "stopped";
    case BranchState::Sleeping: return "sleeping";
  }
  return "unknown";
}

std::optional<BranchState> parse_branch_state(const std::string& text) {
  if (text == "creating") return BranchState::Creating;
  if (text == "running") return BranchState::Running;
  if (text == "stopped") return BranchState::Stopped;
  if (text == "sleeping") return BranchState::Sleeping;
  return std::nullopt;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  // A new database is made 0600. The umask is the process's: only a first
  // open changes it, so the threads of pgd serve (each opening its own
  // connection to an existing database) never race on it.
  struct stat st;
  bool creating = ::stat(path.c_str(), &st) != 0;
  mode_t old_mask = creating ? ::umask(077) : 0;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (creating) ::umask(old_mask);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return fail(fmt::format("state {}: open: {}", path, msg));
  }
  sqlite3_busy_timeout(db, k_busy_timeout_ms);
  // Closing would checkpoint the WAL into the database (two fsyncs) at the end
  // of every command; SQLite's automatic checkpoints (every 1,000 pages) do it.
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  std::unique_ptr<Store> store(new Store(db, path));
  TRY(store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  TRY(store->migrate());
  return store;
}

Store::~Store() { sqlite3_close(m_db); }

int64_t Store::changes() const { return sqlite3_total_changes64(m_db); }

Error Store::error(const std::string& op) const {
  return Error{ErrorKind::Failure, fmt::format("state {}: {}: {}", m_path, op, sqlite3_errmsg(m_db))};
}

Status Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail(fmt::format("state {}: {}", m_path, msg));
  }
  return {};
}

Status Store::in_transaction(const std::function<Status()>& body) {
  TRY(exec("BEGIN IMMEDIATE"));
  Status st = body();
  if (!st) return fail(with_undo(st.error(), exec("ROLLBACK"), "rolling back"));
  if (auto c = exec("COMMIT"); !c) return fail(with_undo(c.error(), exec("ROLLBACK"), "rolling back"));
  return {};
}

Status Store::migrate() {
  return in_transaction([&]() -> Status {
    Stmt s(m_db, "PRAGMA user_version");
    if (!s.ok() || s.step() != SQLITE_ROW) return fail(error("read schema version"));
    int version = static_cast<int>(s.integer(0));
    const auto& migrations = schema_migrations();
    int latest = static_cast<int>(migrations.size());
    if (version > latest)
      return fail(fmt::format("state {}: schema version {} is newer than this pgd knows ({}); "
                              "upgrade pgd", m_path, version, latest));
    for (int v = version; v < latest; ++v) {
      TRY(exec(migrations[v]));
      TRY(exec(fmt::format("PRAGMA user_version = {}", v + 1)));
    }
    return {};
  });
}

Result<std::optional<std::string>> Store::meta(const std::string& key) {
  Stmt q(m_db, "SELECT value FROM meta WHERE key = ?");
  q.bind(1, key);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<std::string>{};
  if (rc != SQLITE_ROW) return fail(error("read " + key));
  return std::optional<std::string>(q.text(0));
}

Result<std::optional<PoolConfig>> Store::pool() {
  TRY_ASSIGN(auto mode, meta("pool.mode"));
  if (!mode) return std::optional<PoolConfig>{};
  PoolConfig p;
  p.mode = *mode;
  TRY_ASSIGN(auto kind, meta("pool.kind"));
  TRY_ASSIGN(auto file, meta("pool.file"));
  TRY_ASSIGN(auto mount_point, meta("pool.mount_point"));
  TRY_ASSIGN(auto size, meta("pool.size_bytes"));
  TRY_ASSIGN(auto pg_user, meta("pool.pg_user"));
  p.kind = kind.value_or("btrfs");  // recorded before XFS existed
  p.pool_file = file.value_or("");
  p.mount_point = mount_point.value_or("");
  p.pg_user = pg_user.value_or("");
  auto bytes = parse_number<uint64_t>(size.value_or("0"));
  if (!bytes)
    return fail(fmt::format("state {}: the pool's record is damaged (pool.size_bytes = '{}'); "
                            "run 'pgd setup' with the pool's options to record it again",
                            m_path, *size));
  p.size_bytes = *bytes;
  return std::optional<PoolConfig>(p);
}

Status Store::save_pool(const PoolConfig& p) {
  return in_transaction([&]() -> Status {
    std::pair<const char*, std::string> rows[] = {
        {"pool.mode", p.mode},         {"pool.kind", p.kind},
        {"pool.file", p.pool_file},    {"pool.mount_point", p.mount_point},
        {"pool.size_bytes", std::to_string(p.size_bytes)}, {"pool.pg_user", p.pg_user}};
    for (auto& [key, value] : rows) {
      Stmt s(m_db, "INSERT INTO meta (key, value) VALUES (?, ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
      s.bind(1, std::string(key)).bind(2, value);
      if (s.step() != SQLITE_DONE) return fail(error("save pool"));
    }
    return {};
  });
}

Result<int> Store::allocate_port(const PortProbe& port_free) {
  std::set<int> used;
  Stmt s(m_db, "SELECT port FROM branches");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) used.insert(static_cast<int>(s.integer(0)));
  if (rc != SQLITE_DONE) return fail(error("read the ports in use"));
  auto port = pick_port(used, port_free);
  if (!port)
    return fail(fmt::format("no free port between {} and {}: delete unused branches",
                            k_first_port, k_last_port));
  return *port;
}

Status Store::insert_branch(const BranchRecord& b) {
  Stmt s(m_db, fmt::format("INSERT INTO branches ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           k_branch_columns));
  s.bind(1, b.project).bind(2, b.name).bind(3, b.parent).bind(4, b.port);
  s.bind(5, to_string(b.state)).bind(6, b.volume).bind(7, b.created_at).bind(8, b.pg_version);
  s.bind(9, b.as_of).bind(10, b.expires_at).bind(11, b.idle_stop_s);
  s.bind(12, int64_t{b.is_protected ? 1 : 0});
  int rc = s.step();
  if (is_duplicate(m_db, rc))
    return fail(ErrorKind::Conflict, fmt::format("branch '{}' already exists", b.full_name()));
  if (rc != SQLITE_DONE) return fail(error("insert branch " + b.full_name()));
  return {};
}

Result<BranchRecord> Store::insert_project(const ProjectRecord& project, BranchRecord main,
                                           const PortProbe& port_free) {
  TRY(in_transaction([&]() -> Status {
    Stmt s(m_db, "INSERT INTO projects (name, pg_version, created_at, database, source, copied_at, "
                 "primary_source, slot, slot_owned, promoted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, project.name).bind(2, project.pg_version).bind(3, project.created_at);
    s.bind(4, project.database).bind(5, project.source).bind(6, project.copied_at);
    s.bind(7, project.primary).bind(8, project.slot).bind(9, project.slot_owned ? 1 : 0);
    s.bind(10, project.promoted_at);
    int rc = s.step();
    if (is_duplicate(m_db, rc))
      return fail(ErrorKind::Conflict, fmt::format("project '{}' already exists", project.name));
    if (rc != SQLITE_DONE) return fail(error("insert project " + project.name));
    TRY_ASSIGN(main.port, allocate_port(port_free));
    return insert_branch(main);
  }));
  return main;
}

Result<std::optional<ProjectRecord>> Store::project(const std::string& name) {
  Stmt s(m_db, fmt::format("SELECT {} FROM projects WHERE name = ?", k_project_columns));
  s.bind(1, name);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<ProjectRecord>{};
  if (rc != SQLITE_ROW) return fail(error("read project " + name));
  return std::optional<ProjectRecord>(read_project(s));
}

Status Store::set_project_source(const std::string& name, const std::string& database,
                                 const std::string& source, const std::string& copied_at) {
  Stmt s(m_db, "UPDATE projects SET database = ?, source = ?, copied_at = ? WHERE name = ?");
  s.bind(1, database).bind(2, source).bind(3, copied_at).bind(4, name);
  if (s.step() != SQLITE_DONE) return fail(error("update project " + name));
  return {};
}

Status Store::set_project_follow(const ProjectRecord& p) {
  Stmt s(m_db, "UPDATE projects SET primary_source = ?, slot = ?, slot_owned = ?, promoted_at = ? "
               "WHERE name = ?");
  s.bind(1, p.primary).bind(2, p.slot).bind(3, int64_t{p.slot_owned ? 1 : 0}).bind(4, p.promoted_at).bind(5, p.name);
  if (s.step() != SQLITE_DONE) return fail(error("update project " + p.name));
  return {};
}

Result<std::vector<ProjectRecord>> Store::projects() {
  Stmt s(m_db, fmt::format("SELECT {} FROM projects ORDER BY name", k_project_columns));
  std::vector<ProjectRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_project(s));
  if (rc != SQLITE_DONE) return fail(error("list projects"));
  return out;
}

Status Store::delete_project(const std::string& name) {
  return in_transaction([&]() -> Status {
    for (const char* sql : {"DELETE FROM snapshots WHERE project = ?",
                             "DELETE FROM branches WHERE project = ?",
                             "DELETE FROM projects WHERE name = ?"}) {
      Stmt s(m_db, sql);
      s.bind(1, name);
      if (s.step() != SQLITE_DONE) return fail(error("delete project " + name));
    }
    return {};
  });
}

Result<BranchRecord> Store::reserve_branch(BranchRecord branch, const PortProbe& port_free) {
  TRY(in_transaction([&]() -> Status {
    TRY_ASSIGN(branch.port, allocate_port(port_free));
    return insert_branch(branch);
  }));
  return branch;
}

Result<std::optional<BranchRecord>> Store::branch(const std::string& project,
                                                  const std::string& name) {
  Stmt s(m_db, fmt::format("SELECT {} FROM branches WHERE project = ? AND name = ?", k_branch_columns));
  s.bind(1, project).bind(2, name);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<BranchRecord>{};
  if (rc != SQLITE_ROW) return fail(error("read branch " + project + "/" + name));
  return std::optional<BranchRecord>(read_branch(s));
}

Result<std::vector<BranchRecord>> Store::branches(const std::optional<std::string>& project) {
  std::string sql = fmt::format("SELECT {} FROM branches {} ORDER BY project, created_at, name",
                                k_branch_columns, project ? "WHERE project = ?" : "");
  Stmt s(m_db, sql);
  if (project) s.bind(1, *project);
  std::vector<BranchRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_branch(s));
  if (rc != SQLITE_DONE) return fail(error("list branches"));
  return out;
}

Status Store::set_branch_state(const std::string& project, const std::string& name,
                               BranchState state) {
  Stmt s(m_db, "UPDATE branches SET state = ? WHERE project = ? AND name = ?");
  s.bind(1, to_string(state)).bind(2, project).bind(3, name);
  if (s.step() != SQLITE_DONE) return fail(error("update branch " + project + "/" + name));
  return {};
}

Status Store::set_branch_as_of(const std::string& project, const std::string& name,
                               const std::string& as_of) {
  Stmt s(m_db, "UPDATE branches SET as_of = ? WHERE project = ? AND name = ?");
  s.bind(1, as_of).bind(2, project).bind(3, name);
  if (s.step() != SQLITE_DONE) return fail(error("update branch " + project + "/" + name));
  return {};
}

Status Store::set_branch_housekeeping(const BranchRecord& b) {
  Stmt s(m_db, "UPDATE branches SET expires_at = ?, idle_stop_s = ?, protected = ? "
               "WHERE project = ? AND name = ?");
  s.bind(1, b.expires_at).bind(2, b.idle_stop_s).bind(3, int64_t{b.is_protected ? 1 : 0});
  s.bind(4, b.project).bind(5, b.name);
  if (s.step() != SQLITE_DONE) return fail(error("update branch " + b.full_name()));
  return {};
}

Status Store::set_project_policies(const ProjectRecord& p) {
  Stmt s(m_db, "UPDATE projects SET idle_stop_s = ?, snapshot_every_s = ?, keep_snapshots_s = ?, "
               "keep_wal_s = ? WHERE name = ?");
  s.bind(1, p.idle_stop_s).bind(2, p.snapshot_every_s).bind(3, p.keep_snapshots_s);
  s.bind(4, p.keep_wal_s).bind(5, p.name);
  if (s.step() != SQLITE_DONE) return fail(error("update project " + p.name));
  return {};
}

Status Store::delete_branch(const std::string& project, const std::string& name) {
  Stmt s(m_db, "DELETE FROM branches WHERE project = ? AND name = ?");
  s.bind(1, project).bind(2, name);
  if (s.step() != SQLITE_DONE) return fail(error("delete branch " + project + "/" + name));
  return {};
}

Status Store::rename_branch(const std::string& project, const std::string& from, const std::string& to) {
  std::string old_volume = project + "/" + from, new_volume = project + "/" + to;
  return in_transaction([&]() -> Status {
    // The snapshots' foreign key holds again once all three updates are done.
    TRY(exec("PRAGMA defer_foreign_keys = ON"));
    int64_t before = changes();
    Stmt b(m_db, "UPDATE branches SET name = ?, volume = ? WHERE project = ? AND name = ?");
    b.bind(1, to).bind(2, new_volume).bind(3, project).bind(4, from);
    int rc = b.step();
    if (is_duplicate(m_db, rc))
      return fail(ErrorKind::Conflict, fmt::format("branch '{}/{}' already exists", project, to));
    if (rc != SQLITE_DONE) return fail(error("rename branch " + old_volume));
    if (changes() == before) return fail(ErrorKind::NotFound, fmt::format("branch '{}' does not exist", old_volume));
    Stmt c(m_db, "UPDATE branches SET parent = ? WHERE project = ? AND parent = ?");
    c.bind(1, to).bind(2, project).bind(3, from);
    if (c.step() != SQLITE_DONE) return fail(error("rename the parent of " + old_volume + "'s children"));
    Stmt snap(m_db, "UPDATE snapshots SET branch = ?, volume = ? || '@' || id WHERE project = ? AND branch = ?");
    snap.bind(1, to).bind(2, new_volume).bind(3, project).bind(4, from);
    if (snap.step() != SQLITE_DONE) return fail(error("rename the snapshots of " + old_volume));
    return {};
  });
}

namespace {

const char* k_snapshot_columns =
    "id, project, branch, label, created_us, lsn, redo_lsn, volume, size_bytes, kind";

SnapshotRecord read_snapshot(const Stmt& s) {
  SnapshotRecord r;
  r.id = s.text(0);
  r.project = s.text(1);
  r.branch = s.text(2);
  r.label = s.opt_text(3);
  r.created_us = s.integer(4);
  r.lsn = s.text(5);
  r.redo_lsn = s.text(6);
  r.volume = s.text(7);
  r.size_bytes = static_cast<uint64_t>(s.integer(8));
  r.kind = s.text(9) == "base" ? SnapshotKind::Base : SnapshotKind::Manual;
  return r;
}

}  // namespace

Status Store::insert_snapshot(const SnapshotRecord& r) {
  Stmt s(m_db, fmt::format("INSERT INTO snapshots ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           k_snapshot_columns));
  s.bind(1, r.id).bind(2, r.project).bind(3, r.branch).bind(4, r.label).bind(5, r.created_us);
  s.bind(6, r.lsn).bind(7, r.redo_lsn).bind(8, r.volume).bind(9, static_cast<int64_t>(r.size_bytes));
  s.bind(10, std::string(r.kind == SnapshotKind::Base ? "base" : "manual"));
  int rc = s.step();
  if (is_duplicate(m_db, rc))
    return fail(ErrorKind::Conflict,
                fmt::format("branch '{}' already has a snapshot labelled '{}'", r.branch_name(),
                            r.label.value_or("")));
  if (rc != SQLITE_DONE) return fail(error("insert snapshot " + r.id));
  return {};
}

Result<std::vector<SnapshotRecord>> Store::snapshots(const std::optional<std::string>& project,
                                                     const std::optional<std::string>& branch) {
  std::string where = project ? (branch ? "WHERE project = ? AND branch = ?" : "WHERE project = ?") : "";
  Stmt s(m_db, fmt::format("SELECT {} FROM snapshots {} ORDER BY created_us, id",
                           k_snapshot_columns, where));
  if (project) s.bind(1, *project);
  if (project && branch) s.bind(2, *branch);
  std::vector<SnapshotRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_snapshot(s));
  if (rc != SQLITE_DONE) return fail(error("list snapshots"));
  return out;
}

Status Store::delete_snapshot(const std::string& id) {
  Stmt s(m_db, "DELETE FROM snapshots WHERE id = ?");
  s.bind(1, id);
  if (s.step() != SQLITE_DONE) return fail(error("delete snapshot " + id));
  return {};
}

Status Store::update_snapshot_size(const std::string& id, uint64_t size_bytes) {
  Stmt s(m_db, "UPDATE snapshots SET size_bytes = ? WHERE id = ?");
  s.bind(1, static_cast<int64_t>(size_bytes)).bind(2, id);
  if (s.step() != SQLITE_DONE) return fail(error("update snapshot " + id));
  return {};
}

Result<int64_t> Store::begin_intent(const std::string& op, const std::string& subject,
                                    const std::string& started_at, int pid) {
  Stmt s(m_db, "INSERT INTO intents (op, subject, step, started_at, pid) VALUES (?, ?, 'begun', ?, ?)");
  s.bind(1, op).bind(2, subject).bind(3, started_at).bind(4, pid);
  if (s.step() != SQLITE_DONE) return fail(error("record intent " + op + " " + subject));
  return static_cast<int64_t>(sqlite3_last_insert_rowid(m_db));
}

Status Store::advance_intent(int64_t id, const std::string& step) {
  Stmt s(m_db, "UPDATE intents SET step = ? WHERE id = ?");
  s.bind(1, step).bind(2, id);
  if (s.step() != SQLITE_DONE) return fail(error("record step " + step));
  return {};
}

Status Store::end_intent(int64_t id) {
  Stmt s(m_db, "DELETE FROM intents WHERE id = ?");
  s.bind(1, id);
  if (s.step() != SQLITE_DONE) return fail(error("end intent"));
  return {};
}

Result<std::vector<IntentRecord>> Store::intents() {
  Stmt s(m_db, "SELECT id, op, subject, step, started_at, pid FROM intents ORDER BY id");
  std::vector<IntentRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4), static_cast<int>(s.integer(5))});
  if (rc != SQLITE_DONE) return fail(error("list intents"));
  return out;
}

}  // namespace pgd
