#include "state/paths.h"

#include <cstdlib>

#include "os/fs.h"
#include "os/process.h"

namespace pgd {

Paths Paths::from_environment() {
  if (const char* home = std::getenv("PGD_HOME"); home && *home)
    return Paths{os::absolute_path(home)};
  if (os::running_as_root()) return Paths{"/var/lib/pgd"};
  const char* user_home = std::getenv("HOME");
  return Paths{std::string(user_home ? user_home : "/tmp") + "/.local/share/pgd"};
}

}  // namespace pgd
