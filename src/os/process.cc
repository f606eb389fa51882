#include "os/process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "os/unique_fd.h"

namespace pgd::os {
namespace {

std::vector<char*> to_argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child after fork: never returns on failure paths (calls _exit).
void become(const RunOptions& options) {
  if (options.as_user && ::geteuid() == 0 && options.as_user->uid != 0) {
    const OsUser& u = *options.as_user;
    if (::initgroups(u.name.c_str(), u.gid) != 0 || ::setgid(u.gid) != 0 ||
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

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
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

Result<OsUser> ensure_system_user(const std::string& name) {
  if (auto u = lookup_user(name)) return u;
  auto r = run_checked({"useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", name});
  if (!r) return fail(r.error().wrap(fmt::format("create system user '{}'", name)));
  return lookup_user(name);
}

Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return fail(fmt::format("fork {}: {}", argv[0], std::strerror(errno)));
  if (pid == 0) {
    ::dup2(write_end.get(), 1);
    ::dup2(write_end.get(), 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    become(options);
    auto args = to_argv(argv);
    ::execvp(args[0], args.data());
    dprintf(2, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  write_end.reset();  // ours closed, so the read below ends with the child
  RunResult result;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  read_end.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = decode_status(status);
  return result;
}

Result<std::string> run_checked(const std::vector<std::string>& argv, const RunOptions& options) {
  TRY_ASSIGN(RunResult r, run(argv, options));
  if (r.exit_code != 0) {
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return fail(fmt::format("{} exited with {}: {}", join(argv), r.exit_code, out));
  }
  return r.output;
}

Result<pid_t> spawn_detached(const std::vector<std::string>& argv, const RunOptions& options,
                             const std::string& log_path) {
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) return fail(fmt::format("open {}: {}", log_path, std::strerror(errno)));
  int log_fd = log.get();
  pid_t pid = ::fork();
  if (pid < 0) return fail(fmt::format("fork {}: {}", argv[0], std::strerror(errno)));
  if (pid == 0) {
    ::setsid();
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::signal(SIGPIPE, SIG_DFL);
    become(options);
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
