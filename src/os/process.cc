#include "os/process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "base/strings.h"
#include "os/unique_fd.h"

namespace pgd::os {
namespace {

std::vector<char*> to_argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child after fork: a signal mask of none. pgd serve blocks SIGINT,
// SIGTERM and SIGHUP in its threads (it reads them from a signalfd), and a
// blocked mask survives exec: a tool must not start deaf to them.
void unblock_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The supplementary groups of the user a child becomes, read before the fork:
// initgroups() in the child would load the NSS modules and read /etc/group
// there, after the fork of a possibly multi-threaded pgd (not async-signal-
// safe), and on every start of a server (~2 ms measured).
std::vector<gid_t> groups_of(const RunOptions& options) {
  if (!options.as_user || ::geteuid() != 0 || options.as_user->uid == 0) return {};
  int n = 32;
  std::vector<gid_t> groups(n);
  while (::getgrouplist(options.as_user->name.c_str(), options.as_user->gid, groups.data(), &n) < 0)
    groups.resize(n);
  groups.resize(n);
  return groups;
}

// In the child after fork: never returns on failure paths (calls _exit).
void become(const RunOptions& options, const std::vector<gid_t>& groups) {
  if (options.as_user && ::geteuid() == 0 && options.as_user->uid != 0) {
    const OsUser& u = *options.as_user;
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(u.gid) != 0 ||
        ::setuid(u.uid) != 0) {
      dprintf(2, "pgd: cannot switch to user %s: %s\n", u.name.c_str(), std::strerror(errno));
      _exit(126);
    }
  }
  if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
    dprintf(2, "pgd: chdir %s: %s\n", options.cwd.c_str(), std::strerror(errno));
    _exit(126);
  }
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace

Result<OsUser> lookup_user(const std::string& name) {
  struct passwd* pw = ::getpwnam(name.c_str());
  if (!pw) return fail(ErrorKind::NotFound, fmt::format("user '{}' does not exist", name));
  return OsUser{pw->pw_name, pw->pw_uid, pw->pw_gid};
}

OsUser current_user() {
  struct passwd* pw = ::getpwuid(::geteuid());
  return OsUser{pw ? pw->pw_name : std::to_string(::geteuid()), ::geteuid(), ::getegid()};
}

bool running_as_root() { return ::geteuid() == 0; }
bool is_terminal(int fd) { return ::isatty(fd) == 1; }

std::optional<std::string> read_secret(const std::string& prompt) {
  UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC));
  if (!tty.valid()) return std::nullopt;
  struct termios old_mode;
  if (::tcgetattr(tty.get(), &old_mode) != 0) return std::nullopt;
  struct termios quiet = old_mode;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  auto say = [&](const std::string& text) {
    // A prompt that did not show still reads; nothing else to do about it.
    if (::write(tty.get(), text.data(), text.size()) < 0) return;
  };
  say(prompt);
  ::tcsetattr(tty.get(), TCSAFLUSH, &quiet);
  std::string secret;
  char c;
  while (::read(tty.get(), &c, 1) == 1 && c != '\n') secret += c;
  ::tcsetattr(tty.get(), TCSAFLUSH, &old_mode);
  say("\n");
  if (secret.empty()) return std::nullopt;
  return secret;
}

Result<OsUser> ensure_system_user(const std::string& name) {
  if (auto u = lookup_user(name)) return u;
  auto r = run_checked({"useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", name});
  if (!r) return fail(r.error().wrap(fmt::format("create system user '{}'", name)));
  return lookup_user(name);
}

namespace {

struct Child {
  pid_t pid = -1;
  size_t pipeline = 0;
  int exit_code = 0;
};

// In the child: stdin, stdout and stderr in place, then exec (never returns).
[[noreturn]] void exec_child(const Command& command, const RunOptions& options,
                             const std::vector<gid_t>& groups, int in, int out, int err) {
  // A group of its own, so that giving up on it ends its children too (pg_dump's
  // workers); and it ends with pgd: a killed pgd leaves no tool writing on.
  if (options.on_tick) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  }
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  ::signal(SIGPIPE, SIG_DFL);
  unblock_signals();
  become(options, groups);
  for (const auto& env : {options.env, command.env})
    for (const auto& [key, value] : env) ::setenv(key.c_str(), value.c_str(), 1);
  auto args = to_argv(command.argv);
  ::execvp(args[0], args.data());
  dprintf(2, "exec %s: %s\n", args[0], std::strerror(errno));
  _exit(127);
}

// Starts one pipeline: each command's stdout feeds the next one's stdin; every
// stderr and the last stdout go to `output`.
Status start_pipeline(const std::vector<Command>& commands, size_t index, const RunOptions& options,
                      int output, std::vector<Child>& children) {
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd next_in(::dup(devnull.get()));
  auto groups = groups_of(options);
  for (size_t i = 0; i < commands.size(); ++i) {
    bool last = i + 1 == commands.size();
    int fds[2] = {-1, -1};
    if (!last && ::pipe2(fds, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0) return fail(fmt::format("fork {}: {}", commands[i].argv[0], std::strerror(errno)));
    if (pid == 0)
      exec_child(commands[i], options, groups, next_in.get(), last ? output : write_end.get(), output);
    children.push_back({pid, index, 0});
    next_in = std::move(read_end);
  }
  return {};
}

// Ends children that on_tick gave up on: their groups, politely first.
void end_children(std::vector<Child>& children) {
  for (const auto& c : children) ::kill(-c.pid, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    bool all = true;
    for (auto& c : children)
      if (c.pid > 0 && ::waitpid(c.pid, nullptr, WNOHANG) == 0) all = false;
    if (all) return;
    ::usleep(10'000);
  }
  for (const auto& c : children) ::kill(-c.pid, SIGKILL);
}

}  // namespace

Result<std::vector<PipelineResult>> run_pipelines(
    const std::vector<std::vector<Command>>& pipelines, const RunOptions& options,
    const std::function<void(size_t, std::string_view)>& on_output) {
  std::vector<Child> children;
  std::vector<UniqueFd> outputs;
  std::vector<PipelineResult> results(pipelines.size());
  for (size_t i = 0; i < pipelines.size(); ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    // Started ones are waited for below even when a later one cannot start.
    Status started = start_pipeline(pipelines[i], i, options, write_end.get(), children);
    outputs.push_back(std::move(read_end));  // ours of write_end closes here: EOF with the children
    if (!started) {
      end_children(children);
      return fail(started.error());
    }
  }
  bool gave_up = false;
  size_t open = outputs.size();
  char buf[4096];
  while (open > 0 && !gave_up) {
    std::vector<struct pollfd> polled;
    for (const auto& fd : outputs) polled.push_back({fd.valid() ? fd.get() : -1, POLLIN, 0});
    int ready = ::poll(polled.data(), polled.size(), options.on_tick ? 250 : -1);
    if (ready < 0 && errno != EINTR) break;
    for (size_t i = 0; ready > 0 && i < polled.size(); ++i) {
      if (!(polled[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(outputs[i].get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        outputs[i].reset();
        --open;
        continue;
      }
      results[i].output.append(buf, static_cast<size_t>(n));
      if (on_output) on_output(i, std::string_view(buf, static_cast<size_t>(n)));
    }
    if (options.on_tick && !options.on_tick()) gave_up = true;
  }
  if (gave_up) end_children(children);
  for (auto& c : children) {
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(c.pid, &status, 0)) < 0 && errno == EINTR) {
    }
    c.exit_code = gave_up ? 128 + SIGTERM : r == c.pid ? decode_status(status) : 255;
    results[c.pipeline].exit_codes.push_back(c.exit_code);
  }
  return results;
}

Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& options) {
  std::vector<std::vector<Command>> one{{Command{argv, {}}}};
  std::function<void(size_t, std::string_view)> forward;
  if (options.on_output) forward = [&](size_t, std::string_view chunk) { options.on_output(chunk); };
  TRY_ASSIGN(auto results, run_pipelines(one, options, forward));
  return RunResult{results[0].exit_codes.empty() ? 255 : results[0].exit_codes[0], results[0].output};
}

Result<std::string> run_checked(const std::vector<std::string>& argv, const RunOptions& options) {
  TRY_ASSIGN(RunResult r, run(argv, options));
  if (r.exit_code != 0) {
    return fail(fmt::format("{} exited with {}: {}", join(argv, " "), r.exit_code, trim(r.output)));
  }
  return r.output;
}

Result<pid_t> spawn_detached(const std::vector<std::string>& argv, const RunOptions& options,
                             const std::string& log_path) {
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) return fail(fmt::format("open {}: {}", log_path, std::strerror(errno)));
  int log_fd = log.get();
  auto groups = groups_of(options);
  pid_t pid = ::fork();
  if (pid < 0) return fail(fmt::format("fork {}: {}", argv[0], std::strerror(errno)));
  if (pid == 0) {
    ::setsid();
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::signal(SIGPIPE, SIG_DFL);
    unblock_signals();
    become(options, groups);
    auto args = to_argv(argv);
    ::execv(args[0], args.data());
    dprintf(2, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

Error exec_replacing(const std::vector<std::string>& argv,
                     const std::vector<std::pair<std::string, std::string>>& env) {
  for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
  auto args = to_argv(argv);
  ::execvp(args[0], args.data());
  return Error{ErrorKind::Failure, fmt::format("cannot run {}: {}", argv[0], std::strerror(errno))};
}

bool is_zombie(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  auto close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() &&
         line[close_paren + 2] == 'Z';
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  return !is_zombie(pid);  // a dead process not yet reaped counts as gone
}

std::string process_name(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(in, name);
  return name;
}

bool child_exited(pid_t pid) {
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return true;
  if (r < 0 && errno == ECHILD) return !process_alive(pid);
  return false;
}

Status send_signal(pid_t pid, int signal) {
  if (::kill(pid, signal) != 0 && errno != ESRCH)
    return fail(fmt::format("signal {} to pid {}: {}", signal, pid, std::strerror(errno)));
  return {};
}

}  // namespace pgd::os
