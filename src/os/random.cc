#include "os/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace pgd::os {

Result<std::string> random_bytes(size_t count) {
  std::string out(count, '\0');
  size_t done = 0;
  while (done < count) {
    ssize_t n = ::getrandom(out.data() + done, count - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fmt::format("getrandom: {}", std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace pgd::os
