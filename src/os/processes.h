// Other processes as core sees them, behind an interface: RealProcesses asks
// the kernel, tests use a fake (tests/support/fake_os.h). Thread-safety: none needed.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace pgd::os {

class Processes {
 public:
  virtual ~Processes() = default;
  virtual pid_t self() = 0;
  virtual bool alive(pid_t pid) = 0;
  // The command name (/proc/<pid>/comm), "" when gone.
  virtual std::string name(pid_t pid) = 0;
  virtual Status signal(pid_t pid, int signal) = 0;
  virtual void sleep_ms(int ms) = 0;
};

// The real ones (os/process.h).
class RealProcesses : public Processes {
 public:
  pid_t self() override;
  bool alive(pid_t pid) override;
  std::string name(pid_t pid) override;
  Status signal(pid_t pid, int signal) override;
  void sleep_ms(int ms) override;
};

}  // namespace pgd::os
