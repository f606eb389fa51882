// Relay: one thread's epoll loop that answers TCP ports on 127.0.0.1 and
// passes each accepted connection's bytes to a server on another local port,
// untouched (TLS included: it never reads them). A connection can be held
// (not read) while its server starts, then passed on, or refused with a
// PostgreSQL error message. `pgd serve` is built on it (serve/daemon.h).
//
// Thread-safety: every method but post() and stop() runs on the loop's thread
// (inside run()'s callbacks, or before run()). post() and stop() may be called
// from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace pgd::os {

using ClientId = uint64_t;

class Relay {
 public:
  struct Events {
    // A client connected to `port`: call pass() or refuse(), now or later
    // (until then it waits, its bytes unread).
    std::function<void(int port, ClientId client)> accepted;
    // A client's connection on `port` ended (held, passed on or refused).
    std::function<void(int port)> closed;
    // One of the signals given to create() arrived.
    std::function<void(int signal)> signalled;
  };
  // `signals` are blocked in the calling thread (create it before any other
  // thread, which then inherits the mask) and delivered through `signalled`.
  static Result<std::unique_ptr<Relay>> create(Events events, const std::vector<int>& signals);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Listens on 127.0.0.1:port. Conflict when something else holds the port.
  Status listen(int port);
  // Stops listening; the port's connections go on.
  void unlisten(int port);
  bool listening(int port) const;
  // Connects the client to 127.0.0.1:server_port and relays both ways until
  // either side closes. A server that cannot be reached refuses the client.
  void pass(ClientId client, int server_port);
  // Answers the client with a PostgreSQL ErrorResponse (FATAL, `sqlstate`,
  // `message`) and closes; libpq shows the message whether or not the client
  // asked for TLS first.
  void refuse(ClientId client, const std::string& sqlstate, const std::string& message);
  // Answers requests on a Unix socket at `path` (mode 0600; a stale file is
  // replaced): each connection sends one line and gets `handler`'s answer.
  // Short work only: the loop waits while the handler runs.
  Status listen_control(const std::string& path, std::function<std::string(const std::string&)> handler);
  // Clients of `port`, held or passed on.
  size_t connections(int port) const;

  // Runs `fn` on the loop's thread soon; wakes the loop. Any thread.
  void post(std::function<void()> fn);
  // Calls `fn` on the loop's thread about every `ms` milliseconds.
  void every(int ms, std::function<void()> fn);
  // Runs the loop until stop(); then closes every connection and listener.
  Status run();
  void stop();  // any thread

  struct State;

 private:
  explicit Relay(std::unique_ptr<State> state);
  std::unique_ptr<State> m;
};

// Sends `request` (one line) to a control socket and returns the answer;
// fails when nothing listens there or no answer comes within `timeout_ms`.
Result<std::string> control_request(const std::string& path, const std::string& request, int timeout_ms);

// The bytes of a PostgreSQL ErrorResponse (pure; for tests too).
std::string pg_error_response(const std::string& sqlstate, const std::string& message);

}  // namespace pgd::os
