#include "state/port_allocator.h"

namespace pgd {

std::optional<int> pick_port(const std::set<int>& recorded, const std::function<bool(int)>& is_free,
                             int first, int last) {
  for (int port = first; port <= last; ++port) {
    if (recorded.count(port) == 0 && is_free(port) && is_free(private_port(port))) return port;
  }
  return std::nullopt;
}

}  // namespace pgd
