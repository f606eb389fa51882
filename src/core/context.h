// What every use case works with: the state store and the interfaces to the
// outside world. cli/ builds the real ones; tests build fakes.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "os/clock.h"
#include "os/files.h"
#include "os/process.h"
#include "postgres/postgres_runner.h"
#include "postgres/replication.h"
#include "state/model.h"
#include "state/paths.h"
#include "state/store.h"
#include "storage/storage_backend.h"

namespace pgd {

// Named phases with their durations, in order: "checkpoint 21.3 ms".
using Timings = std::vector<std::pair<std::string, double>>;

// Told about each phase as it ends, so a terminal can show progress live.
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void phase_started(const std::string& subject, const std::string& phase) = 0;
  // News about the phase in progress (e.g. WAL replay), `ms` since the command began.
  virtual void phase_note(const std::string& subject, const std::string& note, double ms) = 0;
  virtual void phase_done(const std::string& subject, const std::string& phase, double ms) = 0;
};

struct Context {
  Paths paths;
  Store& store;
  StorageBackend& storage;
  PostgresRunner& postgres;
  os::Clock& clock;
  os::Files& files;
  os::Processes& processes;
  PortProbe port_free;
  Progress* progress = nullptr;  // may be null
  // The replication protocol, for projects that follow a primary; may be null
  // (then such work fails with a clear error).
  Replication* replication = nullptr;
  // Whether `pgd serve` answers the branches' published ports, so that a
  // server started now listens on its private port behind it; empty: never.
  std::function<bool()> daemon_serving;
  // Work that may overlap a new branch's server start (the client files,
  // which name the reserved port); run while it starts. Empty: none.
  std::function<void()> while_starting;
  // What went wrong without failing the command (an undo or a cleanup that
  // failed); cli/ prints each as "pgd: warning: ...".
  std::vector<std::string> warnings;
};

// Records a failed cleanup as a warning instead of forgetting it. `what` names
// the cleanup: "removing the half-made branch 'p/b'".
void warn_if_failed(Context& ctx, const Status& status, const std::string& what);

// Refuses to start work that needs space when the pool is (nearly) full:
// a clean error beats a half-made branch or a server stopped by ENOSPC.
Status require_free_space(Context& ctx, const std::string& subject);

// Refuses to start another server when the machine has less than 256 MiB of
// memory available (/proc/meminfo's MemAvailable; no check where it cannot be
// read): many creates at once fail fast with the reason, before anything is
// made, instead of pushing the machine into the OOM killer.
inline constexpr uint64_t k_min_available_memory = 256ULL << 20;
Status require_memory(Context& ctx, const std::string& subject);
// MemAvailable of a /proc/meminfo, in bytes.
std::optional<uint64_t> meminfo_available_bytes(const std::string& meminfo);

// The runtime view of a branch record.
Instance instance_for(const Context& ctx, const BranchRecord& branch);

// Runs `step`, records its duration under `phase` and reports it.
template <typename F>
auto timed(Context& ctx, Timings& timings, const std::string& subject, const std::string& phase,
           F&& step) {
  if (ctx.progress) ctx.progress->phase_started(subject, phase);
  auto start = std::chrono::steady_clock::now();
  auto result = step();
  double ms = os::elapsed_ms(start);
  timings.emplace_back(phase, ms);
  if (ctx.progress) ctx.progress->phase_done(subject, phase, ms);
  return result;
}

}  // namespace pgd
