// Network probes. Postgres only ever listens on 127.0.0.1, so that is all we probe.
#pragma once

#include <map>
#include <set>

#include "base/result.h"

namespace pgd::os {

// True when a TCP listener could bind 127.0.0.1:`port` right now.
bool tcp_port_free(int port);

// For each of `ports`, how many TCP connections on 127.0.0.1 have it as their
// local port: open, opening or still closing (every state but LISTEN,
// TIME_WAIT and CLOSE). One sock_diag dump of the kernel's table, so it sees
// connections no process of ours holds (a server's own clients).
Result<std::map<int, int>> tcp_connections(const std::set<int>& ports);

}  // namespace pgd::os
