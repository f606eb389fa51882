#include "postgres/native_postgres.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "base/parse.h"
#include "base/scope_guard.h"
#include "os/clock.h"
#include "os/fs.h"
#include "os/interrupts.h"
#include "postgres/config.h"
#include "postgres/sql.h"

namespace fs = std::filesystem;

namespace pgd {
namespace {

constexpr int k_start_timeout_ms = 600'000;  // crash recovery of a busy source can take a while
constexpr int k_fast_stop_timeout_ms = 60'000;

std::string log_tail(const std::string& path, size_t max_lines = 8) {
  auto content = os::read_file(path);
  if (!content) return "(no log)";
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < content->size()) {
    size_t end = content->find('\n', start);
    if (end == std::string::npos) end = content->size();
    lines.push_back(content->substr(start, end - start));
    start = end + 1;
  }
  std::string out;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i)
    out += "\n  " + lines[i];
  return out;
}

}  // namespace

std::string NativePostgres::bin(int version, const std::string& program) const {
  return fmt::format("{}/{}/bin/{}", m_bin_root, version, program);
}

std::vector<int> NativePostgres::installed_versions() {
  std::vector<int> versions;
  auto names = os::list_names(m_bin_root);  // none installed: no versions
  for (const auto& name : names ? *names : std::vector<std::string>{}) {
    auto version = parse_number<int>(name);
    if (version && os::exists(bin(*version, "postgres"))) versions.push_back(*version);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

Status NativePostgres::init_cluster(const Instance& in, const std::string& password) {
  // initdb reads the password from a file only the Postgres user can read.
  TRY(os::make_dirs(m_tmp_dir, 0711));
  std::string pwfile = fmt::format("{}/initdb-pw.{}", m_tmp_dir, ::getpid());
  TRY(os::write_file_atomic(pwfile, password + "\n", 0600, owner()));
  // A leftover is 0600, owned by the Postgres user, in pgd's 0711 tmp dir, and
  // the next initdb of this pid overwrites it: not worth failing the create for.
  ScopeGuard remove_pwfile([&] { ignore_error(os::remove_file(pwfile), "tmp file, private"); });
  TRY(os::change_owner(in.data_dir, m_user.uid, m_user.gid));
  auto r = os::run_checked({bin(in.pg_version, "initdb"), "-D", in.data_dir, "-U", "postgres",
                            "--auth-local=peer", "--auth-host=scram-sha-256",
                            "--pwfile=" + pwfile, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                            // Pages carry checksums: btrfs does not checksum no-COW files.
                            "--data-checksums",
                            "--no-instructions"},
                           {m_user, "/"});
  if (!r) return fail(r.error().wrap(fmt::format("branch '{}': initdb", in.name)));
  // --no-sync above, then one syncfs: as durable as initdb's per-file fsyncs, far faster.
  TRY(os::sync_filesystem(in.data_dir));
  std::string conf_path = in.data_dir + "/postgresql.conf";
  TRY_ASSIGN(std::string conf, os::read_file(conf_path));
  conf += fmt::format("\n# pgd: per-branch settings (port, sockets) live in pgd.conf\n{}\n",
                      pg::k_include_line);
  TRY(os::write_file_atomic(conf_path, conf, 0600, owner()));
  return prepare_clone(in, Recovery::No);
}

Status NativePostgres::configure(const Instance& in) {
  pg::BranchSettings settings{in.port, in.socket_dir, "pgd " + in.name, in.settings};
  return os::write_file_atomic(in.data_dir + "/" + pg::k_branch_conf_file,
                               pg::render_branch_conf(settings), 0600, owner());
}

Status NativePostgres::prepare_clone(const Instance& in, Recovery recovery) {
  // Dropping the lock file of a live server would hide it from every check.
  if (auto pid = running_pid(in))
    return fail(ErrorKind::Conflict, fmt::format("branch '{}': cannot reinitialize a data directory "
                                                 "while its server (pid {}) runs", in.name, *pid));
  // A clone carries its source's lock file; its pid may well be alive.
  TRY(os::remove_file(in.data_dir + "/postmaster.pid"));
  TRY(os::remove_file(in.data_dir + "/postmaster.opts"));
  // A snapshot of a server that was itself recovering may carry a signal file;
  // a clone of a following main must never reach for the primary.
  TRY(os::remove_file(in.data_dir + "/standby.signal"));
  TRY(os::remove_file(in.data_dir + "/" + pg::k_follow_conf_file));
  if (recovery == Recovery::Yes) {
    TRY(os::write_file_atomic(in.data_dir + "/recovery.signal", "", 0600, owner()));
  } else {
    TRY(os::remove_file(in.data_dir + "/recovery.signal"));
  }
  return configure(in);
}

// A postmaster killed moments ago lingers as a zombie until init reaps it, and
// Postgres takes the lock file of a pid that kill(0) still finds for a live
// server. Waiting a little for the reaper beats failing the start.
static void wait_for_reaper(const std::string& pid_file) {
  auto content = os::read_file(pid_file);
  auto old = content ? pg::parse_postmaster_pid(*content) : std::nullopt;
  for (int i = 0; old && i < 2000 && os::is_zombie(*old); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

Result<pid_t> NativePostgres::start(const Instance& in, const std::function<void()>& on_wait,
                                    const std::function<void()>& on_spawned) {
  if (auto pid = running_pid(in)) return *pid;
  wait_for_reaper(in.data_dir + "/postmaster.pid");
  TRY(os::make_dirs(in.socket_dir, 0700));
  TRY(os::change_owner(in.socket_dir, m_user.uid, m_user.gid));
  TRY(os::make_dirs(fs::path(in.log_path).parent_path().string(), 0700));
  std::vector<std::string> argv{bin(in.pg_version, "postgres"), "-D", in.data_dir};
  // Behind `pgd serve` the server listens on its private port; the command
  // line outranks pgd.conf and ALTER SYSTEM alike.
  if (in.start_port() != in.port) argv.insert(argv.end(), {"-p", std::to_string(in.start_port())});
  auto pid = os::spawn_detached(argv, {m_user, in.data_dir}, in.log_path);
  if (!pid) return fail(pid.error().wrap(fmt::format("branch '{}': start postgres", in.name)));
  if (on_spawned) on_spawned();
  TRY(wait_ready(in, *pid, on_wait));
  return *pid;
}

Status NativePostgres::wait_ready(const Instance& in, pid_t pid,
                                  const std::function<void()>& on_wait) {
  auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  // The postmaster rewrites the status line of postmaster.pid to "ready" when it
  // accepts connections. Reading that small file costs microseconds and, unlike
  // test connections, logs nothing; so poll it often: readiness is noticed within
  // ~1 ms instead of pg_ctl's 100 ms.
  constexpr int k_poll_us = 1000;
  const std::string pid_file = in.data_dir + "/postmaster.pid";
  for (;;) {
    if (os::child_exited(pid))
      return fail(fmt::format("branch '{}': postgres exited during start-up; log {}:{}", in.name,
                              in.log_path, log_tail(in.log_path)));
    if (auto content = os::read_file(pid_file);
        content && pg::parse_postmaster_pid(*content) == pid && pg::postmaster_ready(*content))
      return {};
    // A long start (a PITR's replay) stops promptly on Ctrl-C; the caller's
    // undo then stops the server and removes what it made.
    if (int s = os::interrupt_signal())
      return fail(ErrorKind::Interrupted, fmt::format("branch '{}': interrupted by {} while postgres "
                                                      "was starting", in.name, os::signal_name(s)));
    if (os::elapsed_ms(started) > k_start_timeout_ms) {
      Error late{ErrorKind::Failure,
                 fmt::format("postgres not ready after {} s; log {}:{}", k_start_timeout_ms / 1000,
                             in.log_path, log_tail(in.log_path))};
      return fail(with_undo(late, os::send_signal(pid, SIGQUIT), "stopping it"));
    }
    if (on_wait && os::elapsed_ms(last_report) > 200) {
      on_wait();
      last_report = std::chrono::steady_clock::now();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(k_poll_us));
  }
}

Status NativePostgres::wait_exit(pid_t pid, int timeout_ms) {
  auto started = std::chrono::steady_clock::now();
  while (!os::child_exited(pid) && os::process_alive(pid)) {
    if (os::elapsed_ms(started) > timeout_ms) return fail(ErrorKind::Failure, "timeout");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return {};
}

Status NativePostgres::stop(const Instance& in, StopMode mode) {
  auto pid = running_pid(in);
  if (!pid) return {};
  // SIGINT: fast shutdown (abort sessions, checkpoint, exit); SIGQUIT: immediate.
  TRY(os::send_signal(*pid, mode == StopMode::Fast ? SIGINT : SIGQUIT));
  if (wait_exit(*pid, k_fast_stop_timeout_ms)) return {};
  TRY(os::send_signal(*pid, SIGQUIT));  // immediate: recovery on next start
  if (wait_exit(*pid, 10'000)) return {};
  return fail(fmt::format("branch '{}': postgres (pid {}) did not stop; log {}", in.name, *pid,
                          in.log_path));
}

std::optional<pid_t> NativePostgres::running_pid(const Instance& in) {
  auto content = os::read_file(in.data_dir + "/postmaster.pid");
  if (!content) return std::nullopt;
  auto pid = pg::postmaster_pid_for(*content, in.data_dir);
  if (!pid || !os::process_alive(*pid) || os::process_name(*pid) != "postgres")
    return std::nullopt;
  return pid;
}

std::optional<int> NativePostgres::listening_port(const Instance& in) {
  if (!running_pid(in)) return std::nullopt;
  auto content = os::read_file(in.data_dir + "/postmaster.pid");
  return content ? pg::postmaster_port(*content) : std::nullopt;
}

std::optional<int64_t> NativePostgres::started_at(const Instance& in) {
  if (!running_pid(in)) return std::nullopt;
  auto content = os::read_file(in.data_dir + "/postmaster.pid");
  return content ? pg::postmaster_start_time(*content) : std::nullopt;
}

Result<std::unique_ptr<pg::Session>> NativePostgres::connect(const Instance& in,
                                                             const std::string& password,
                                                             const std::string& dbname) {
  pg::ConnectParams params;
  // Wherever it listens now: a server started before `pgd serve` (or after it
  // stopped) is on its published port, one started behind it on its private one.
  params.port = listening_port(in).value_or(in.start_port());
  params.password = password;
  if (password.empty()) params.host = in.socket_dir;  // peer authentication
  params.dbname = dbname;
  auto conn = pg::Connection::open(params);
  if (!conn) return fail(conn.error().wrap(fmt::format("branch '{}'", in.name)));
  return std::unique_ptr<pg::Session>(std::make_unique<pg::Connection>(std::move(*conn)));
}

Result<pg::Rows> NativePostgres::query(const Instance& in, const std::string& password,
                                       const std::string& sql) {
  TRY_ASSIGN(auto conn, connect(in, password));
  auto rows = conn->query(sql);
  if (!rows) return fail(rows.error().wrap(fmt::format("branch '{}'", in.name)));
  return rows;
}

Result<std::map<std::string, std::string>> NativePostgres::control_data(const Instance& in) {
  auto out = os::run_checked({bin(in.pg_version, "pg_controldata"), "-D", in.data_dir}, {m_user, "/"});
  if (!out) return fail(out.error().wrap(fmt::format("branch '{}'", in.name)));
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start < out->size()) {
    size_t end = out->find('\n', start);
    if (end == std::string::npos) end = out->size();
    std::string line = out->substr(start, end - start);
    start = end + 1;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t v = line.find_first_not_of(' ', colon + 1);
    fields[line.substr(0, colon)] = v == std::string::npos ? "" : line.substr(v);
  }
  return fields;
}

Result<std::set<std::string>> NativePostgres::available_extensions(int pg_version) {
  // Debian's layout: /usr/share/postgresql/<major>/extension/<name>.control.
  std::string dir = fmt::format("/usr/share/postgresql/{}/extension", pg_version);
  TRY_ASSIGN(auto names, os::list_names(dir));
  std::set<std::string> out;
  const std::string suffix = ".control";
  for (const auto& n : names)
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.insert(n.substr(0, n.size() - suffix.size()));
  return out;
}

Status NativePostgres::flush_to_disk(const Instance& in) { return os::sync_filesystem(in.data_dir); }

Status NativePostgres::configure_standby(const Instance& in, const pg::FollowSettings& follow) {
  TRY_ASSIGN(auto control, control_data(in));
  // The primary's own files go: they may name its addresses, hold a
  // primary_conninfo of its own past, or settings this host cannot run.
  for (const char* name : {"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"})
    TRY(os::remove_file(in.data_dir + "/" + name));
  TRY(os::write_file_atomic(in.data_dir + "/postgresql.conf",
                            pg::render_standby_postgresql_conf(pg::recovery_minima(control)), 0600, owner()));
  TRY(prepare_private(in));  // pg_hba, pg_ident, pgd.conf (and it drops any follow file)
  auto write = [&](const std::string& name, const std::string& content) {
    return os::write_file_atomic(in.data_dir + "/" + name, content, 0600, owner());
  };
  TRY(write(pg::k_follow_conf_file, pg::render_follow_conf(follow)));
  return write("standby.signal", "");
}

Status NativePostgres::prepare_private(const Instance& in) {
  std::vector<std::string> users{m_user.name};
  if (auto me = os::current_user().name; me != m_user.name) users.push_back(me);
  auto write = [&](const std::string& name, const std::string& content) {
    return os::write_file_atomic(in.data_dir + "/" + name, content, 0600, owner());
  };
  TRY(write("pg_hba.conf", pg::render_standby_hba()));
  TRY(write("pg_ident.conf", pg::render_standby_ident(users)));
  return prepare_clone(in, Recovery::No);
}

Status NativePostgres::end_following(const Instance& in) {
  TRY(os::remove_file(in.data_dir + "/" + pg::k_follow_conf_file));
  return configure(in);
}

Status NativePostgres::make_server_dir(const std::string& path) {
  TRY(os::make_dirs(path, 0700));
  return os::change_owner(path, m_user.uid, m_user.gid);
}

}  // namespace pgd
