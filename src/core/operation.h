// Operation: what every command that changes a project holds while it works.
//
// It takes the project's lock (so two commands never change one project at
// once; a killed pgd releases it with its process) and records the intent in
// the journal before anything is touched; each step reached is recorded, and
// the intent ends when the Operation does. An intent whose pid is gone is an
// interrupted operation: `pgd doctor` reports it and `pgd doctor --fix`
// resolves it (core/repair.h).
//
// Test hook: PGD_FAULT=<op>:<step> (e.g. branch.create:cloned) makes pgd kill
// itself with SIGKILL right after recording that step, so tests can interrupt
// every step of every operation for real.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/context.h"
#include "os/interrupts.h"

namespace pgd {

class Operation {
 public:
  static Result<Operation> begin(Context& ctx, const std::string& op, const std::string& project,
                                 const std::string& subject);
  // A branch create: like begin(), and it can let the project's lock go
  // before its longest phase (release_project_lock).
  static Result<Operation> begin_create(Context& ctx, const std::string& op, const std::string& project,
                                        const std::string& subject);
  // For a create past what is the project's own (its source resolved, its
  // certificates made): other creates of the project may go on beside it.
  // It keeps a shared hold on the project's starts lock, which every other
  // holder of the project's lock waits for (lock_project), so a delete,
  // reset, PITR or doctor never meets a branch half-made. A no-op for an
  // operation begun with begin().
  void release_project_lock();
  Operation(Operation&& other) noexcept;
  Operation(const Operation&) = delete;
  ~Operation();
  // Records that the work up to `name` is done. Fails (ErrorKind::Interrupted)
  // when a signal came: the caller's undo then runs as on any failure.
  Status step(const std::string& name);
  // From here the operation finishes even when interrupted (a deletion, a
  // reset past its swap): steps no longer fail on a signal.
  void finish_regardless();

 private:
  Operation(Context& ctx, std::unique_ptr<os::Lock> lock, std::string op)
      : m_ctx(&ctx), m_lock(std::move(lock)), m_op(std::move(op)) {}
  static Result<Operation> start(Context& ctx, std::unique_ptr<os::Lock> lock, const std::string& op,
                                 const std::string& subject);
  Context* m_ctx;
  std::unique_ptr<os::Lock> m_lock;
  std::unique_ptr<os::Lock> m_starting;  // a create's shared hold on the starts lock
  std::string m_op;
  std::unique_ptr<os::DeferInterrupts> m_defer;  // set by finish_regardless()
  std::optional<int64_t> m_intent;
};

// Just the project's lock, for single-step commands (start, stop) and doctor
// (which waits less: a busy project is reported, not waited for). It is held
// once no create of the project is still starting its server outside it.
inline constexpr int k_project_lock_timeout_ms = 600'000;  // a PITR may replay for minutes
// The project an intent's subject belongs to ("shop/dev" and "shop" -> "shop").
inline std::string project_of(const std::string& subject) { return subject.substr(0, subject.find('/')); }
// Whether the pgd that recorded an intent still runs (a reused pid is not it).
inline bool pgd_alive(os::Processes& ps, int pid) { return ps.alive(pid) && ps.name(pid) == "pgd"; }

Result<std::unique_ptr<os::Lock>> lock_project(Context& ctx, const std::string& project,
                                               int timeout_ms = k_project_lock_timeout_ms);

}  // namespace pgd
