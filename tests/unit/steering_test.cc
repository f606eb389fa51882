// os::Steering on this machine's kernel: a connection to a port nothing
// listens on reaches the socket it is steered to; unsteered, or after that
// socket closed, it is refused again; another address or port is untouched.
// Needs root (CAP_BPF, CAP_NET_ADMIN), as CI runs; the test says so and stops
// without it rather than pass.
#include "os/steering.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/loopback.h"

namespace pgd::os {
namespace {

using test::loopback_connect;
using test::loopback_listener;

// The local port of the connection `listener` accepts next, seen from its side.
int accepted_local_port(int listener) {
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  return test::local_port(conn.get());
}

// Ports of the kind pgd allocates, high in the range so that no pgd here uses them.
constexpr int k_first = 27300;
constexpr int k_count = 100;

TEST(Steering, SteersLoopbackConnectionsToAListenerOnAnotherPort) {
  if (::geteuid() != 0) GTEST_SKIP() << "kernel steering needs root (CAP_BPF, CAP_NET_ADMIN)";
  auto steering = Steering::create(k_first, k_count);
  ASSERT_TRUE(steering) << steering.error().message;

  const int published = k_first + 7, private_port = k_first + 7 + 2000;
  UniqueFd server = loopback_listener(private_port);
  ASSERT_TRUE(server.valid());
  EXPECT_FALSE(loopback_connect(published).valid()) << "nothing listens on the published port yet";

  ASSERT_TRUE((*steering)->steer(published, ::getpid(), private_port));
  UniqueFd client = loopback_connect(published);
  ASSERT_TRUE(client.valid());
  EXPECT_EQ(accepted_local_port(server.get()), published) << "the server sees the address the client dialled";
  EXPECT_FALSE(loopback_connect(published + 1).valid()) << "a neighbouring port is not steered";

  (*steering)->unsteer(published);
  EXPECT_FALSE(loopback_connect(published).valid());

  ASSERT_TRUE((*steering)->steer(published, ::getpid(), private_port));
  ASSERT_TRUE(loopback_connect(published).valid());
  EXPECT_EQ(accepted_local_port(server.get()), published);
  server.reset();  // the server stops: the kernel forgets the entry
  EXPECT_FALSE(loopback_connect(published).valid());
}

TEST(Steering, AListenerOnThePublishedPortWinsWhenNotSteered) {
  if (::geteuid() != 0) GTEST_SKIP() << "kernel steering needs root (CAP_BPF, CAP_NET_ADMIN)";
  auto steering = Steering::create(k_first, k_count);
  ASSERT_TRUE(steering) << steering.error().message;
  const int published = k_first + 9, private_port = k_first + 9 + 2000;
  UniqueFd daemon = loopback_listener(published);
  UniqueFd server = loopback_listener(private_port);
  ASSERT_TRUE(daemon.valid() && server.valid());

  UniqueFd first = loopback_connect(published);
  ASSERT_TRUE(first.valid());
  EXPECT_EQ(accepted_local_port(daemon.get()), published);

  ASSERT_TRUE((*steering)->steer(published, ::getpid(), private_port));
  UniqueFd second = loopback_connect(published);
  ASSERT_TRUE(second.valid());
  EXPECT_EQ(accepted_local_port(server.get()), published) << "steered past the daemon's listener";
}

TEST(Steering, RefusesAPortOutsideItsRangeAndAProcessWithoutTheListener) {
  if (::geteuid() != 0) GTEST_SKIP() << "kernel steering needs root (CAP_BPF, CAP_NET_ADMIN)";
  auto steering = Steering::create(k_first, k_count);
  ASSERT_TRUE(steering) << steering.error().message;
  EXPECT_FALSE((*steering)->steer(k_first + k_count, ::getpid(), k_first + 2000));
  auto missing = (*steering)->steer(k_first + 3, ::getpid(), k_first + 3 + 2000);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
}

}  // namespace
}  // namespace pgd::os
