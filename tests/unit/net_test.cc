// os::tcp_connections against this machine's kernel: it counts the
// connections a listener has, accepted or still queued, and forgets them once
// closed.
#include "os/net.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "support/loopback.h"

namespace pgd::os {
namespace {

int count(int port) {
  auto counts = tcp_connections({port});
  EXPECT_TRUE(counts) << counts.error().message;
  return counts ? counts->at(port) : -1;
}

TEST(TcpConnections, CountsQueuedAndAcceptedConnectionsOfAPortUntilClosed) {
  UniqueFd server = test::loopback_listener(), unused = test::loopback_listener();
  int port = test::local_port(server.get()), other = test::local_port(unused.get());
  EXPECT_EQ(count(port), 0) << "a listener alone is no connection";

  UniqueFd a = test::loopback_connect(port), b = test::loopback_connect(port);
  ASSERT_TRUE(a.valid() && b.valid());
  EXPECT_EQ(count(port), 2) << "both, though neither is accepted yet";
  EXPECT_EQ(count(other), 0);

  UniqueFd accepted_a(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  UniqueFd accepted_b(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_EQ(count(port), 2);

  // The server side closes first, so its half ends in TIME_WAIT, which is not counted.
  accepted_a.reset();
  accepted_b.reset();
  a.reset();
  b.reset();
  EXPECT_EQ(count(port), 0);
}

TEST(TcpConnections, NoPortsAsksNothing) {
  auto counts = tcp_connections({});
  ASSERT_TRUE(counts);
  EXPECT_TRUE(counts->empty());
}

}  // namespace
}  // namespace pgd::os
