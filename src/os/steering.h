// Kernel steering of new connections: a BPF sk_lookup program, attached to
// this network namespace, that hands a TCP connection to 127.0.0.1:P straight
// to another listening socket (a server's, on its private port) chosen per
// port from a map. Nothing is copied in user space: once steered, a
// connection is the server's own, as if it had dialled the private port.
//
// Why: pgd serve answers every branch's published port so that it can wake a
// sleeping branch, but relaying every byte through one thread cost 25-40% of
// pgbench's TPS (docs/experiments/serve-relay.md). With steering the daemon
// only sees the connections that arrive while a branch sleeps or wakes.
//
// It needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN, and the right to
// take a file descriptor from the server (pidfd_getfd: CAP_SYS_PTRACE or the
// same user); without them create() fails and the caller relays instead.
// The program is detached when the Steering dies, also when the process is
// killed: the kernel drops it with the link's last file descriptor.
#pragma once

#include <sys/types.h>

#include <memory>

#include "base/result.h"

namespace pgd::os {

class Steering {
 public:
  // Steers ports first_port .. first_port + count - 1.
  static Result<std::unique_ptr<Steering>> create(int first_port, int count);
  ~Steering();
  Steering(const Steering&) = delete;
  Steering& operator=(const Steering&) = delete;

  // From now on, new connections to 127.0.0.1:`port` go to the socket that
  // process `pid` listens with on 127.0.0.1:`target_port`. The kernel drops
  // the entry by itself when that socket closes (the server stopped).
  Status steer(int port, pid_t pid, int target_port);
  // New connections to `port` go wherever they would without steering.
  void unsteer(int port);

 private:
  Steering(int first_port, int count, int map_fd, int prog_fd, int link_fd);
  int m_first_port, m_count;
  int m_map_fd, m_prog_fd, m_link_fd;
};

}  // namespace pgd::os
