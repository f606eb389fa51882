// `pgd serve`: the daemon that answers every branch's published port, wakes a
// sleeping branch when a client connects, stops idle ones, deletes expired
// ones and carries out the projects' schedules.
//
// One loop thread (os::Relay) owns the ports and the connections that arrive
// while a branch sleeps or wakes; once it is awake, the kernel hands new
// connections straight to its server (os::Steering), where it can. Starting
// and stopping servers, expiry and schedules run on worker threads, each with
// a Context of its own, under the project's lock like any command. A branch's
// server listens on its private port (state/port_allocator.h) while the daemon
// runs; one found on its published port (started while no daemon ran) is
// moved behind the daemon when it has no client.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "core/context.h"

namespace pgd::serve {

// A Context for one thread; each call makes a new one (its own state store
// connection), kept alive by the pointer.
using OpenContext = std::function<Result<std::shared_ptr<Context>>(bool daemon_serving)>;

struct Options {
  int tick_ms = 1000;  // idle checks, expiry and schedules run this often
  // Connections to an awake branch go from the kernel straight to its server
  // (os/steering.h); without it, or where the kernel refuses it, the daemon
  // relays them.
  bool kernel_steering = true;
  // Where the daemon's own log lines go (a line each, no newline).
  std::function<void(const std::string&)> log;
};

// Runs until SIGINT or SIGTERM; then puts every server it moved back on its
// published port, so that pgd without the daemon works as before.
Status run_daemon(const OpenContext& open, const Options& options);

// For the CLI: whether a daemon answers the published ports now.
bool daemon_running(const Paths& paths);
// Tells a running daemon that records changed, and returns once it listens on
// every branch's port; no-op without a daemon.
Status notify_daemon(const Paths& paths);

}  // namespace pgd::serve
