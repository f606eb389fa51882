// Processes and users: the only code that forks, execs or signals.
// Thread-safety: none needed (pgd is single-threaded; fork is safe here).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace pgd::os {

struct OsUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<OsUser> lookup_user(const std::string& name);
OsUser current_user();
bool running_as_root();
// Whether standard output (1) or error (2) is a terminal.
bool is_terminal(int fd);
// Asks for a secret on the controlling terminal (/dev/tty) without echo;
// nullopt when there is no terminal or nothing was typed.
std::optional<std::string> read_secret(const std::string& prompt);
// Creates a system account with no login shell and no home, if missing. REQUIRES: root.
Result<OsUser> ensure_system_user(const std::string& name);

struct RunOptions {
  std::optional<OsUser> as_user;  // drop to this user in the child (when we are root)
  std::string cwd;                // empty: inherit
  // Added to the child's environment: how a secret (PGPASSWORD) reaches a
  // client tool without showing in `ps` (/proc/<pid>/environ is private).
  std::vector<std::pair<std::string, std::string>> env;
  // Sees the output as it comes, for live progress of long work.
  std::function<void(std::string_view)> on_output;
  // Called about every 250 ms while the child runs; returning false ends it
  // (SIGTERM to its process group, then SIGKILL after 5 s): Ctrl-C, a timeout.
  std::function<bool()> on_tick;
};

struct RunResult {
  int exit_code = 0;    // 128+signal when killed by a signal
  std::string output;   // stdout and stderr, interleaved
};

// Runs argv[0] (searched in PATH) to completion, capturing its output.
// Fails only when it cannot be started; a non-zero exit is a RunResult.
Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& options = {});

// One program of a pipeline, with environment of its own (a password for
// pg_dump, another for pg_restore).
struct Command {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};
struct PipelineResult {
  std::vector<int> exit_codes;  // one per command, in order
  std::string output;           // every stderr and the last stdout, interleaved
};
// Runs each pipeline (`a | b`, as a shell would) and all of them at once,
// to completion; `on_output(i, chunk)` sees pipeline i's output as it comes.
// RunOptions apply to every command (env before each command's own); its
// on_output is not used here.
Result<std::vector<PipelineResult>> run_pipelines(
    const std::vector<std::vector<Command>>& pipelines, const RunOptions& options,
    const std::function<void(size_t, std::string_view)>& on_output = {});

// Runs argv and turns a non-zero exit into an Error "<argv...>: <output>".
Result<std::string> run_checked(const std::vector<std::string>& argv,
                                const RunOptions& options = {});

// Starts argv as a session leader that outlives pgd, with stdin from /dev/null
// and stdout/stderr appended to `log_path` (created 0600 by the caller's user).
Result<pid_t> spawn_detached(const std::vector<std::string>& argv, const RunOptions& options,
                             const std::string& log_path);

// Replaces this process with argv[0] (searched in PATH), with `env` added to
// the environment (seen only by this user's processes, unlike argv). Returns
// only when the exec failed.
Error exec_replacing(const std::vector<std::string>& argv,
                     const std::vector<std::pair<std::string, std::string>>& env);

bool process_alive(pid_t pid);
// Exited but not yet reaped by its parent (e.g. init, after pgd has exited).
bool is_zombie(pid_t pid);
// The process's command name from /proc/<pid>/comm ("" when gone).
std::string process_name(pid_t pid);
// Reaps `pid` if it is our exited child; true when it has exited (or is not ours and gone).
bool child_exited(pid_t pid);
Status send_signal(pid_t pid, int signal);

// Other processes as core sees them, behind an interface: RealProcesses
// (os/real_os.cc) asks the kernel, tests use a fake (tests/support/fake_os.h).
class Processes {
 public:
  virtual ~Processes() = default;
  virtual pid_t self() = 0;
  virtual bool alive(pid_t pid) = 0;
  // The command name (/proc/<pid>/comm), "" when gone.
  virtual std::string name(pid_t pid) = 0;
  virtual Status signal(pid_t pid, int signal) = 0;
  virtual void sleep_ms(int ms) = 0;
  // The interrupting signal received (os/interrupts.h), or 0.
  virtual int interrupted() = 0;
};

// The real ones (the functions above).
class RealProcesses : public Processes {
 public:
  pid_t self() override;
  bool alive(pid_t pid) override;
  std::string name(pid_t pid) override;
  Status signal(pid_t pid, int signal) override;
  void sleep_ms(int ms) override;
  int interrupted() override;
};

}  // namespace pgd::os
