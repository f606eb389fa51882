#include "serve/daemon.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "base/names.h"
#include "base/time_format.h"
#include "clients/client_files.h"
#include "core/branches.h"
#include "core/client_sync.h"
#include "core/follow.h"
#include "core/housekeeping.h"
#include "core/operation.h"
#include "os/file_lock.h"
#include "os/fs.h"
#include "os/net.h"
#include "os/relay.h"
#include "os/steering.h"
#include "state/port_allocator.h"

namespace pgd::serve {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Where a branch's server is, as the daemon sees it.
//  Asleep: not running; a connection wakes it.   Waking/Stopping: a worker
//  starts/stops it; connections wait.   Awake: running behind the daemon.
//  Direct: running on its published port (started while no daemon ran).
// An awake branch's port is steered to its server when the kernel lets us
// (os/steering.h): new connections then bypass the daemon.
enum class Mode { Asleep, Waking, Awake, Stopping, Direct };

struct Entry {
  BranchRecord branch;
  int64_t idle_stop_s = 0;
  Mode mode = Mode::Asleep;
  std::vector<os::ClientId> waiting;
  SteadyClock::time_point idle_since = SteadyClock::now();
  SteadyClock::time_point direct_checked{};
  bool busy = false;  // a worker acts on it
  pid_t steered_to = 0;  // the postmaster its port is steered to; 0: relayed
  bool steer_failure_logged = false;
};

// A message for a client whose branch cannot be reached: one line, bounded.
std::string client_message(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  return line.size() > 900 ? line.substr(0, 900) + "..." : line;
}

constexpr const char* k_count_clients =
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "AND pid <> pg_backend_pid()";

class Daemon {
 public:
  Daemon(const OpenContext& open, const Options& options, Context& ctx)
      : m_open(open), m_options(options), m_ctx(ctx) {}

  Status run() {
    os::Relay::Events events;
    events.accepted = [this](int port, os::ClientId id) { accepted(port, id); };
    events.closed = [this](int port) { closed(port); };
    events.signalled = [this](int sig) {
      if (sig == SIGHUP) return rescan();
      log(fmt::format("{} received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM"));
      m_relay->stop();
    };
    TRY_ASSIGN(m_relay, os::Relay::create(std::move(events), {SIGINT, SIGTERM, SIGHUP}));
    start_steering();
    TRY(os::make_dirs(m_ctx.paths.home + "/run", 0711));
    rescan();
    TRY(m_relay->listen_control(m_ctx.paths.serve_socket(), [this](const std::string& request) {
      if (request == "sync") rescan();
      return fmt::format("ok {}", m_ctx.processes.self());
    }));
    m_relay->every(m_options.tick_ms, [this] { tick(); });
    log(fmt::format("serving {} branches (pid {})", m_entries.size(), m_ctx.processes.self()));
    TRY(m_relay->run());
    join_workers(true);
    restore_direct();
    return {};
  }

 private:
  void log(const std::string& line) {
    if (m_options.log) m_options.log(line);
  }

  void start_steering() {
    if (!m_options.kernel_steering) return log("relaying every connection (--relay-only)");
    auto steering = os::Steering::create(k_first_port, k_last_port - k_first_port + 1);
    if (!steering) return log("relaying every connection: kernel steering is unavailable: " + steering.error().message);
    m_steering = std::move(*steering);
    log("connections to awake branches go straight to their servers (BPF sk_lookup)");
  }

  // New connections to an awake branch go to its server from now on; those
  // the daemon already holds stay relayed until they close.
  void steer(Entry& e) {
    if (!m_steering) return;
    Instance in = instance_for(m_ctx, e.branch);
    auto pid = m_ctx.postgres.running_pid(in);
    auto live = m_ctx.postgres.listening_port(in);
    if (!pid || !live || *live == e.branch.port || *pid == e.steered_to) return;
    if (auto steered = m_steering->steer(e.branch.port, *pid, *live); !steered) {
      // NotFound: the server is still starting (no listening socket yet); the next tick tries again.
      if (steered.error().kind != ErrorKind::NotFound && !std::exchange(e.steer_failure_logged, true))
        log(fmt::format("{}: relaying its connections: {}", e.branch.full_name(), steered.error().message));
      return;
    }
    e.steered_to = *pid;
  }

  void unsteer(Entry& e) {
    if (m_steering) m_steering->unsteer(e.branch.port);
    e.steered_to = 0;
  }

  // Runs `work` on a thread of its own; its result comes back through post().
  template <typename F>
  void spawn(F&& work) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    m_workers.push_back({std::thread([work = std::forward<F>(work), done]() mutable {
                           work();
                           *done = true;
                         }),
                         done});
  }

  void join_workers(bool all) {
    for (auto it = m_workers.begin(); it != m_workers.end();) {
      if (all || *it->second) {
        it->first.join();
        it = m_workers.erase(it);
      } else {
        ++it;
      }
    }
  }

  std::optional<int> live_port(const BranchRecord& b) {
    return m_ctx.postgres.listening_port(instance_for(m_ctx, b));
  }

  void rescan() {
    auto branches = m_ctx.store.branches();
    auto projects = m_ctx.store.projects();
    if (!branches || !projects) {
      log("reading the state failed: " + (!branches ? branches.error().message : projects.error().message));
      return;
    }
    std::map<std::string, ProjectRecord> by_name;
    for (const auto& p : *projects) by_name[p.name] = p;
    std::set<int> seen;
    for (const auto& b : *branches) {
      seen.insert(b.port);
      auto it = m_entries.find(b.port);
      if (it == m_entries.end()) {
        Entry e;
        e.branch = b;
        it = m_entries.emplace(b.port, std::move(e)).first;
        take_port(it->second);
      }
      Entry& e = it->second;
      e.branch = b;
      e.idle_stop_s = effective_idle_stop_s(by_name[b.project], b);
      // Started by a command (pgd start, a reset) behind the daemon.
      if (e.mode == Mode::Asleep && b.state == BranchState::Running && live_port(b)) {
        e.mode = Mode::Awake;
        e.idle_since = SteadyClock::now();
        steer(e);
      }
    }
    for (auto it = m_entries.begin(); it != m_entries.end();) {
      if (seen.count(it->first)) {
        ++it;
        continue;
      }
      for (auto id : it->second.waiting)
        m_relay->refuse(id, "3D000", fmt::format("pgd serve: branch '{}' was deleted", it->second.branch.full_name()));
      m_relay->unlisten(it->first);
      unsteer(it->second);
      it = m_entries.erase(it);
    }
  }

  // Listens on the branch's published port; a server found there stays
  // (Direct) until it has no client.
  void take_port(Entry& e) {
    auto listened = m_relay->listen(e.branch.port);
    if (!listened) {
      if (listened.error().kind == ErrorKind::Conflict && live_port(e.branch) == e.branch.port) {
        e.mode = Mode::Direct;
        return;
      }
      log(fmt::format("branch '{}': {}", e.branch.full_name(), listened.error().message));
      e.mode = Mode::Direct;  // retried with the others
      return;
    }
    e.mode = live_port(e.branch) ? Mode::Awake : Mode::Asleep;
    e.idle_since = SteadyClock::now();
    if (e.mode == Mode::Awake) steer(e);
  }

  void accepted(int port, os::ClientId id) {
    auto it = m_entries.find(port);
    if (it == m_entries.end())
      return m_relay->refuse(id, "3D000", fmt::format("pgd serve: no branch has port {}", port));
    Entry& e = it->second;
    switch (e.mode) {
      case Mode::Awake:
        if (auto live = live_port(e.branch)) {
          m_relay->pass(id, *live);
          return steer(e);  // it reached us: the server is new, or steering failed
        }
        e.mode = Mode::Asleep;  // it stopped (a crash, pgd stop): wake it again
        [[fallthrough]];
      case Mode::Asleep:
        e.waiting.push_back(id);
        return wake(e);
      case Mode::Waking:
      case Mode::Stopping:
        e.waiting.push_back(id);
        return;
      case Mode::Direct:  // not listened on
        return m_relay->refuse(id, "57P03", "pgd serve: the branch is being moved behind pgd serve; try again");
    }
  }

  void closed(int port) {
    auto it = m_entries.find(port);
    if (it != m_entries.end() && m_relay->connections(port) == 0) it->second.idle_since = SteadyClock::now();
  }

  void wake(Entry& e) {
    e.mode = Mode::Waking;
    e.busy = true;
    BranchRef ref{e.branch.project, e.branch.name};
    int port = e.branch.port;
    auto started = SteadyClock::now();
    spawn([this, ref, port, started] {
      auto live = wake_branch(ref);
      double ms = os::elapsed_ms(started);
      m_relay->post([this, port, live, ms, ref] { woken(port, ref, live, ms); });
    });
  }

  Result<int> wake_branch(const BranchRef& ref) {
    TRY_ASSIGN(auto ctx, m_open(true));
    TRY_ASSIGN(BranchRecord b, require_branch(*ctx, ref));
    if (b.state == BranchState::Stopped)
      return fail(ErrorKind::Conflict, fmt::format("branch '{}' is stopped: start it with 'pgd start {}'",
                                                   ref.full(), ref.full()));
    if (b.state == BranchState::Creating)
      return fail(ErrorKind::Conflict, fmt::format("branch '{}' is still being created; try again", ref.full()));
    TRY(start_branch(*ctx, b));
    auto live = ctx->postgres.listening_port(instance_for(*ctx, b));
    if (!live) return fail(fmt::format("branch '{}' stopped right after its start", ref.full()));
    return *live;
  }

  void woken(int port, const BranchRef& ref, const Result<int>& live, double ms) {
    auto it = m_entries.find(port);
    if (it == m_entries.end()) return;  // deleted meanwhile; its clients were refused
    Entry& e = it->second;
    e.busy = false;
    if (live) {
      log(fmt::format("woke {} in {:.0f} ms for {} client(s)", ref.full(), ms, e.waiting.size()));
      e.mode = Mode::Awake;
      e.idle_since = SteadyClock::now();
      for (auto id : e.waiting) m_relay->pass(id, *live);
      steer(e);
    } else {
      log(fmt::format("could not wake {}: {}", ref.full(), live.error().message));
      e.mode = Mode::Asleep;
      for (auto id : e.waiting)
        m_relay->refuse(id, "57P03", client_message("pgd serve: could not wake " + ref.full() + ": " +
                                                    live.error().message));
    }
    e.waiting.clear();
  }

  void put_to_sleep(Entry& e) {
    unsteer(e);  // from now on a new client comes to the daemon, which holds it
    e.mode = Mode::Stopping;
    e.busy = true;
    BranchRef ref{e.branch.project, e.branch.name};
    int port = e.branch.port;
    int64_t idle = e.idle_stop_s;
    spawn([this, ref, port, idle] {
      auto slept = sleep_branch(ref);
      m_relay->post([this, port, slept, ref, idle] {
        auto it = m_entries.find(port);
        if (it == m_entries.end()) return;
        Entry& e = it->second;
        e.busy = false;
        e.mode = Mode::Asleep;
        if (slept && *slept) log(fmt::format("{} sleeps after {} without a client", ref.full(), format_duration(idle)));
        if (!slept) log(fmt::format("could not stop idle {}: {}", ref.full(), slept.error().message));
        if (!slept || !*slept) rescan();  // still running: awake again
        if (e.mode == Mode::Awake) {
          e.idle_since = SteadyClock::now();
          steer(e);
        }
        if (e.waiting.empty()) return;
        if (auto live = live_port(e.branch); e.mode == Mode::Awake && live) {
          for (auto id : e.waiting) m_relay->pass(id, *live);
          e.waiting.clear();
          return;
        }
        wake(e);
      });
    });
  }

  // False, and the server left running, when a client reached it after all:
  // one the kernel steered there just before the port was unsteered.
  // The look at pg_stat_activity comes before the lock, which creates of the
  // project wait for: no new client can reach the server by then (its port
  // is unsteered and the daemon holds whoever comes).
  Result<bool> sleep_branch(const BranchRef& ref) {
    TRY_ASSIGN(auto ctx, m_open(true));
    {
      TRY_ASSIGN(BranchRecord b, require_branch(*ctx, ref));
      if (b.state != BranchState::Running) return true;  // a command changed it meanwhile
      TRY_ASSIGN(std::string password, session_password(*ctx, b));
      TRY_ASSIGN(auto rows, ctx->postgres.query(instance_for(*ctx, b), password, k_count_clients));
      if (rows.empty() || rows[0].empty() || rows[0][0] != "0") return false;
    }
    TRY_ASSIGN(auto lock, lock_project(*ctx, ref.project));
    TRY_ASSIGN(BranchRecord b, require_branch(*ctx, ref));
    if (b.state != BranchState::Running) return true;
    Instance in = instance_for(*ctx, b);
    TRY(ctx->postgres.stop(in));
    TRY(ctx->store.set_branch_state(b.project, b.name, BranchState::Sleeping));
    return true;
  }

  // A server on its published port moves behind the daemon once it has no
  // client: stopped (fast), then the port is taken and it starts privately.
  enum class Takeover { Free, Busy, Stopped };
  void take_over(Entry& e) {
    e.busy = true;
    e.direct_checked = SteadyClock::now();
    BranchRef ref{e.branch.project, e.branch.name};
    int port = e.branch.port;
    spawn([this, ref, port] {
      auto result = stop_if_unused(ref);
      m_relay->post([this, port, ref, result] {
        auto it = m_entries.find(port);
        if (it == m_entries.end()) return;
        Entry& e = it->second;
        e.busy = false;
        if (!result) return log(fmt::format("moving {} behind pgd serve: {}", ref.full(), result.error().message));
        if (*result == Takeover::Busy) return;
        take_port(e);
        if (e.mode == Mode::Direct) return;
        if (*result == Takeover::Stopped) {
          log(fmt::format("{} moved behind pgd serve", ref.full()));
          wake(e);
        }
      });
    });
  }

  Result<Takeover> stop_if_unused(const BranchRef& ref) {
    TRY_ASSIGN(auto ctx, m_open(true));
    TRY_ASSIGN(auto lock, lock_project(*ctx, ref.project));
    TRY_ASSIGN(BranchRecord b, require_branch(*ctx, ref));
    Instance in = instance_for(*ctx, b);
    auto live = ctx->postgres.listening_port(in);
    if (!live || *live != b.port) return Takeover::Free;
    TRY_ASSIGN(std::string password, session_password(*ctx, b));
    TRY_ASSIGN(auto rows, ctx->postgres.query(in, password, k_count_clients));
    if (rows.empty() || rows[0].empty() || rows[0][0] != "0") return Takeover::Busy;
    TRY(ctx->postgres.stop(in));
    return Takeover::Stopped;
  }

  // Client connections per awake branch (by published port): those the
  // kernel steered to its server and those the daemon relays, counted from
  // the kernel's socket table. nullopt when it would not say: nobody sleeps.
  std::optional<std::map<int, int>> awake_clients() {
    std::set<int> ports;
    for (const auto& [port, e] : m_entries)
      if (e.mode == Mode::Awake) ports.insert({port, private_port(port)});
    auto counts = os::tcp_connections(ports);
    if (!counts) {
      log("counting clients: " + counts.error().message);
      return std::nullopt;
    }
    std::map<int, int> clients;
    for (const auto& [port, e] : m_entries)
      if (e.mode == Mode::Awake) clients[port] = (*counts)[port] + (*counts)[private_port(port)];
    return clients;
  }

  void tick() {
    join_workers(false);
    rescan();
    auto now = SteadyClock::now();
    auto clients = awake_clients();
    for (auto& [port, e] : m_entries) {
      if (e.busy) continue;
      if (e.mode == Mode::Awake && !live_port(e.branch)) {
        e.mode = Mode::Asleep;  // stopped by a command, or crashed: the kernel dropped its steering
        e.steered_to = 0;
      }
      if (e.mode == Mode::Awake) steer(e);  // a no-op unless a command restarted its server
      if (e.mode == Mode::Direct && now - e.direct_checked > std::chrono::seconds(5)) take_over(e);
      if (e.mode != Mode::Awake || !clients) continue;
      if ((*clients)[port] > 0 || m_relay->connections(port) > 0) e.idle_since = now;
      else if (e.idle_stop_s > 0 && now - e.idle_since >= std::chrono::seconds(e.idle_stop_s)) put_to_sleep(e);
    }
    if (++m_ticks % 10 == 1 && !m_housekeeping) housekeeping();
  }

  // Expiry and schedules, on a worker; what it did comes back as log lines.
  // A branch kept although expired is said once, not at every pass.
  void housekeeping() {
    m_housekeeping = true;
    spawn([this] {
      std::vector<std::string> lines, kept;
      housekeeping_pass(lines, kept);
      m_relay->post([this, lines, kept] {
        m_housekeeping = false;
        for (const auto& line : lines) log(line);
        for (const auto& k : kept)
          if (m_kept_reported.insert(k).second) log("kept " + k);
        rescan();
      });
    });
  }

  void housekeeping_pass(std::vector<std::string>& lines, std::vector<std::string>& kept) {
    auto ctx = m_open(true);
    if (!ctx) return lines.push_back("housekeeping: " + ctx.error().message);
    ExpiryRun expiry = expire_branches(**ctx);
    for (const auto& name : expiry.deleted) lines.push_back("deleted expired branch " + name);
    for (const auto& err : expiry.errors) lines.push_back("expiry: " + err);
    if (!expiry.deleted.empty())
      if (auto synced = sync_client_files(**ctx, client_file_paths_from_environment()); !synced)
        lines.push_back("updating the client files: " + synced.error().message);
    kept = expiry.kept;
    auto projects = (*ctx)->store.projects();
    if (!projects) return lines.push_back("housekeeping: " + projects.error().message);
    for (const auto& p : *projects) {
      if (!p.snapshot_every_s && !p.keep_snapshots_s && !p.keep_wal_s) continue;
      ScheduleRun run = run_schedule(**ctx, p);
      for (const auto& id : run.snapshots) lines.push_back(fmt::format("{}: scheduled snapshot {}", p.name, id));
      if (run.snapshots_deleted || run.wal_bytes_deleted)
        lines.push_back(fmt::format("{}: removed {} old snapshot(s) and {} of archived WAL", p.name,
                                    run.snapshots_deleted, format_bytes(run.wal_bytes_deleted)));
      for (const auto& err : run.errors) lines.push_back(fmt::format("{}: schedule: {}", p.name, err));
    }
  }

  // After the loop: every server moved behind the daemon goes back to its
  // published port, so that pgd without the daemon works as before.
  void restore_direct() {
    auto ctx = m_open(false);
    if (!ctx) return log("putting branches back on their ports: " + ctx.error().message);
    auto branches = (*ctx)->store.branches();
    if (!branches) return log("putting branches back on their ports: " + branches.error().message);
    for (const auto& b : *branches) {
      Instance in = instance_for(**ctx, b);
      auto live = (*ctx)->postgres.listening_port(in);
      if (!live || *live == b.port) continue;
      auto lock = lock_project(**ctx, b.project);
      Status moved = lock ? (*ctx)->postgres.stop(in) : Status(fail(lock.error()));
      if (moved) moved = (*ctx)->postgres.start(in).map([](pid_t) {});
      log(moved ? fmt::format("{} back on port {}", b.full_name(), b.port)
                : fmt::format("could not put {} back on port {}: {}", b.full_name(), b.port, moved.error().message));
    }
  }

  const OpenContext& m_open;
  const Options& m_options;
  Context& m_ctx;  // the loop thread's own
  std::unique_ptr<os::Relay> m_relay;
  std::unique_ptr<os::Steering> m_steering;  // null: every connection is relayed
  std::map<int, Entry> m_entries;  // by published port
  std::vector<std::pair<std::thread, std::shared_ptr<std::atomic<bool>>>> m_workers;
  bool m_housekeeping = false;
  std::set<std::string> m_kept_reported;  // said once, not every pass
  uint64_t m_ticks = 0;
};

}  // namespace

Status run_daemon(const OpenContext& open, const Options& options) {
  TRY_ASSIGN(auto ctx, open(true));
  TRY(os::make_dirs(ctx->paths.home + "/locks", 0700));
  auto lock = os::FileLock::acquire(ctx->paths.serve_lock(), "pgd serve", 0);
  if (!lock)
    return fail(ErrorKind::Conflict,
                fmt::format("another pgd serve runs for {} ({})", ctx->paths.home, lock.error().message));
  Daemon daemon(open, options, *ctx);
  return daemon.run();
}

bool daemon_running(const Paths& paths) {
  return os::control_request(paths.serve_socket(), "ping", 1000).has_value();
}

Status notify_daemon(const Paths& paths) {
  auto answer = os::control_request(paths.serve_socket(), "sync", 10'000);
  if (!answer && answer.error().kind == ErrorKind::NotFound) return {};  // no daemon
  if (!answer) return fail(answer.error().wrap("telling pgd serve about the change"));
  return {};
}

}  // namespace pgd::serve
