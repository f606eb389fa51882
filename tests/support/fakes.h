// Fakes of the OS-facing interfaces, for unit tests of the use cases. They
// record what was asked and can be told to fail at a named step.
#pragma once

#include <filesystem>
#include <map>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/context.h"
#include "support/fake_os.h"

namespace pgd::test {

// Volumes are names mapped to a "content" string; clone copies it, and the
// files below the volume's path in `files` (when given) too.
class FakeStorage : public StorageBackend {
 public:
  FakeFiles* files = nullptr;
  std::map<std::string, std::string> volumes;
  std::string fail_destroy_of;  // destroy() of this volume fails
  bool atomic = true;           // false: clones like XFS's reflink backend
  std::vector<std::string> cloned_dirs;  // clone_dir() calls: "target/dir"

  bool atomic_clone() const override { return atomic; }
  Status clone_dir(const std::string& source, const std::string& target, const std::string& dir) override {
    cloned_dirs.push_back(target + "/" + dir);
    if (files) {
      TRY(files->remove_tree(path(target) + "/" + dir));
      files->copy_tree(path(source) + "/" + dir, path(target) + "/" + dir);
    }
    return {};
  }
  std::string fail_clone_to;  // clone() with this target fails

  std::string kind() const override { return "fake"; }
  std::string root() const override { return "/fake"; }
  std::string path(const std::string& v) const override { return "/fake/" + v; }
  bool exists(const std::string& v) const override { return volumes.count(v) > 0; }
  Status create_volume(const std::string& v) override {
    if (exists(v)) return fail(ErrorKind::Conflict, v + " exists");
    volumes[v] = "";
    if (files) (void)files->make_dirs(path(v), 0700);
    return {};
  }
  Status clone(const std::string& from, const std::string& to, Access) override {
    if (to == fail_clone_to)  // worded as BtrfsBackend words it
      return fail(fmt::format("btrfs snapshot {} -> {}: No space left on device", path(from), path(to)));
    if (!exists(from)) return fail(ErrorKind::NotFound, from + " missing");
    if (exists(to)) return fail(ErrorKind::Conflict, to + " exists");
    volumes[to] = volumes[from];
    if (files) files->copy_tree(path(from), path(to));
    return {};
  }
  Status set_read_only(const std::string&) override { return {}; }
  Status rename(const std::string& from, const std::string& to) override {
    if (exists(to)) return fail(ErrorKind::Conflict, to + " exists");
    volumes[to] = volumes[from];
    volumes.erase(from);
    return {};
  }
  Status destroy(const std::string& v) override {
    if (v == fail_destroy_of) return fail(fmt::format("btrfs subvolume delete {}: Device or resource busy", path(v)));
    volumes.erase(v);
    if (files) (void)files->remove_tree(path(v));
    return {};
  }
  Result<VolumeUsage> usage(const std::string&) override { return VolumeUsage{}; }
  uint64_t free = 1ULL << 40;
  Result<uint64_t> free_bytes() override { return free; }
  Result<std::vector<std::string>> list() override {
    std::vector<std::string> out;
    for (auto& [v, _] : volumes)
      if (v.find('/') != std::string::npos) out.push_back(v);
    return out;
  }
};

// Instances are data_dir strings; "running" is a set. Records every call.
class FakePostgres : public PostgresRunner {
 public:
  FakeFiles* files = nullptr;

 private:
  class FakeSession : public pg::Session {
   public:
    FakeSession(FakePostgres& pg, Instance in) : m_pg(pg), m_in(std::move(in)) {}
    Result<pg::Rows> query(const std::string& sql) override { return m_pg.query(m_in, "", sql); }
    Status exec(const std::string& sql) override {
      m_pg.calls.push_back((sql == "CHECKPOINT" ? "checkpoint " : "exec " + sql + " ") + m_in.data_dir);
      return {};
    }
    Result<std::string> encrypt_password(const std::string& user, const std::string&) override {
      m_pg.calls.push_back("encrypt " + user);
      return std::string("SCRAM-SHA-256$4096:fake");
    }

   private:
    FakePostgres& m_pg;
    Instance m_in;
  };

 public:
  std::set<std::string> running;
  std::vector<std::string> calls;  // "start /fake/p/b", "checkpoint /fake/p/main", ...
  std::string fail_start_of;       // start() of this data dir fails
  bool fail_initdb = false;

  std::vector<int> installed_versions() override { return {14, 15}; }
  Status init_cluster(const Instance& in, const std::string&) override {
    calls.push_back("initdb " + in.data_dir);
    if (fail_initdb) return fail("initdb exited with 1: disk full");
    return {};
  }
  Status configure(const Instance& in) override {
    calls.push_back("configure " + in.data_dir);
    settings[in.data_dir] = in.settings;
    return {};
  }
  // The settings each start of a data directory ran with, in order.
  std::map<std::string, std::vector<std::vector<std::pair<std::string, std::string>>>> started_with;
  Status prepare_clone(const Instance& in, Recovery recovery) override {
    calls.push_back(std::string(recovery == Recovery::Yes ? "recover " : "clone ") + in.data_dir);
    return configure(in);
  }
  Result<pid_t> start(const Instance& in, const std::function<void()>& = {},
                      const std::function<void()>& on_spawned = {}) override {
    calls.push_back("start " + in.data_dir);
    if (in.data_dir == fail_start_of) return fail(fmt::format("branch '{}': postgres exited during start-up; log {}:", in.name, in.log_path));
    if (on_spawned) on_spawned();
    running.insert(in.data_dir);
    listening[in.data_dir] = in.start_port();
    started_with[in.data_dir].push_back(settings[in.data_dir]);
    return 4242;
  }
  std::map<std::string, int> listening;  // data dir -> the port it was started on
  std::optional<int> listening_port(const Instance& in) override {
    if (!running.count(in.data_dir)) return std::nullopt;
    return listening[in.data_dir];
  }
  Status stop(const Instance& in, StopMode = StopMode::Fast) override {
    calls.push_back("stop " + in.data_dir);
    running.erase(in.data_dir);
    return {};
  }
  std::optional<pid_t> running_pid(const Instance& in) override {
    if (running.count(in.data_dir)) return 4242;
    return std::nullopt;
  }
  std::optional<int64_t> started_at(const Instance& in) override {
    if (running.count(in.data_dir)) return 1767225600;  // 2026-01-01T00:00:00Z
    return std::nullopt;
  }
  // A session answers like query(); its CHECKPOINT is recorded as "checkpoint DIR".
  Result<std::unique_ptr<pg::Session>> connect(const Instance& in, const std::string&,
                                               const std::string& = "postgres") override {
    return std::unique_ptr<pg::Session>(std::make_unique<FakeSession>(*this, in));
  }
  // Answers: the first entry of `answers` whose key the SQL contains.
  Result<pg::Rows> query(const Instance& in, const std::string&, const std::string& sql) override {
    calls.push_back("query " + in.data_dir + " " + sql);
    for (auto& [needle, rows] : answers)
      if (sql.find(needle) != std::string::npos) return rows;
    return pg::Rows{};
  }
  Result<std::map<std::string, std::string>> control_data(const Instance&) override {
    return std::map<std::string, std::string>{{"Latest checkpoint location", "0/1000060"},
                                              {"Latest checkpoint's REDO location", "0/1000028"}};
  }
  Status make_server_dir(const std::string& path) override { return files->make_dirs(path, 0700); }
  Result<std::set<std::string>> available_extensions(int) override { return extensions; }
  Status flush_to_disk(const Instance& in) override {
    calls.push_back("sync " + in.data_dir);
    return {};
  }
  std::set<std::string> extensions{"plpgsql", "pg_trgm"};
  Status configure_standby(const Instance& in, const pg::FollowSettings& follow) override {
    calls.push_back("standby " + in.data_dir + " " + follow.primary_conninfo + " slot=" + follow.slot);
    return configure(in);
  }
  Status prepare_private(const Instance& in) override {
    calls.push_back("private " + in.data_dir);
    return configure(in);
  }
  Status end_following(const Instance& in) override {
    calls.push_back("end-following " + in.data_dir);
    return configure(in);
  }
  Status create_certificates(const std::string& dir, const std::string&) override {
    calls.push_back("certificates " + dir);
    TRY(files->make_dirs(dir, 0755));
    for (const char* name : {"/ca.crt", "/server.crt", "/server.key"})
      TRY(files->write_atomic(dir + name, "fake", 0600, std::nullopt));
    return {};
  }

  std::map<std::string, std::vector<std::pair<std::string, std::string>>> settings;
  std::vector<std::pair<std::string, pg::Rows>> answers{
      // Is the source idle? Not by default: it is checkpointed.
      {"pg_wal_lsn_diff", {{"0/1000028", "f"}}},
      {"redo_lsn", {{"0/1000028"}}},
      {"pg_current_wal_insert_lsn", {{"0/2000000", "0/2000100", ""}}},
      {"pg_current_wal_lsn", {{"0/2000000"}}}};
};

// Starts at 2026-01-01T00:00:00Z and moves one second per reading.
class FakeClock : public os::Clock {
 public:
  int64_t now_us() override { return m_now += 1'000'000; }
  int64_t m_now = 1767225600LL * 1'000'000 - 1'000'000;
};

// A private temp directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pgd-unit.XXXXXX";
    m_path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(m_path); }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

// A Context over fakes and a real SQLite store in a temp dir.
struct FakeWorld {
  TempDir dir;
  std::unique_ptr<Store> store;
  FakeFiles files;
  FakeProcesses processes;
  FakeStorage storage;
  FakePostgres postgres;
  FakeClock clock;
  std::unique_ptr<Context> ctx;

  FakeWorld() {
    store = std::move(*Store::open(dir.path() + "/state.db"));
    storage.files = &files;
    postgres.files = &files;
    ctx.reset(new Context{Paths{"/home"}, *store, storage, postgres, clock, files, processes,
                          [](int) { return true; }, nullptr});
  }
};

}  // namespace pgd::test
