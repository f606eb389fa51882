#include "core/operation.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "os/clock.h"


namespace pgd {
namespace {

// PGD_FAULT=op:step kills pgd there (the crash tests); the fake processes
// record the kill instead of dying.
void fault_hook(os::Processes& processes, const std::string& op, const std::string& step) {
  const char* fault = std::getenv("PGD_FAULT");
  if (fault && op + ":" + step == fault) ignore_error(processes.signal(processes.self(), SIGKILL), "we die");
}

}  // namespace

namespace {

// Two locks held as one, released in reverse order.
class BothLocks : public os::Lock {
 public:
  BothLocks(std::unique_ptr<os::Lock> first, std::unique_ptr<os::Lock> second)
      : m_first(std::move(first)), m_second(std::move(second)) {}
  ~BothLocks() override { m_second.reset(); }

 private:
  std::unique_ptr<os::Lock> m_first, m_second;
};

Result<std::unique_ptr<os::Lock>> project_lock_only(Context& ctx, const std::string& project, int timeout_ms) {
  TRY(ctx.files.make_dirs(ctx.paths.home + "/locks", 0700));
  return ctx.files.lock(ctx.paths.lock_file(project), fmt::format("project '{}'", project), timeout_ms);
}

}  // namespace

// The project's lock first, then the starts lock: a create takes the latter
// (shared) only while it holds the former, so whoever waits here for the
// starts lock waits only for creates that need no lock any more.
Result<std::unique_ptr<os::Lock>> lock_project(Context& ctx, const std::string& project,
                                               int timeout_ms) {
  auto started = std::chrono::steady_clock::now();
  TRY_ASSIGN(auto lock, project_lock_only(ctx, project, timeout_ms));
  int left = std::max(0, timeout_ms - static_cast<int>(os::elapsed_ms(started)));
  TRY_ASSIGN(auto starts, ctx.files.lock(ctx.paths.starts_lock_file(project),
                                         fmt::format("project '{}' (a branch of it is starting)", project), left));
  return std::unique_ptr<os::Lock>(std::make_unique<BothLocks>(std::move(lock), std::move(starts)));
}

Result<Operation> Operation::begin(Context& ctx, const std::string& op, const std::string& project,
                                   const std::string& subject) {
  TRY_ASSIGN(auto lock, lock_project(ctx, project));
  return start(ctx, std::move(lock), op, subject);
}

Result<Operation> Operation::begin_create(Context& ctx, const std::string& op, const std::string& project,
                                          const std::string& subject) {
  TRY_ASSIGN(auto lock, project_lock_only(ctx, project, k_project_lock_timeout_ms));
  // Free at once: an exclusive holder of the starts lock holds the project's.
  TRY_ASSIGN(auto starting, ctx.files.lock(ctx.paths.starts_lock_file(project),
                                           fmt::format("project '{}'", project), k_project_lock_timeout_ms,
                                           os::LockMode::Shared));
  TRY_ASSIGN(Operation operation, start(ctx, std::move(lock), op, subject));
  operation.m_starting = std::move(starting);
  return operation;
}

void Operation::release_project_lock() {
  if (m_starting) m_lock.reset();
}

Result<Operation> Operation::start(Context& ctx, std::unique_ptr<os::Lock> lock, const std::string& op,
                                   const std::string& subject) {
  Operation operation(ctx, std::move(lock), op);
  TRY_ASSIGN(operation.m_intent, ctx.store.begin_intent(op, subject, ctx.clock.now_iso8601(), ctx.processes.self()));
  fault_hook(ctx.processes, op, "begun");
  return operation;
}

void Operation::finish_regardless() {
  if (!m_defer) m_defer = std::make_unique<os::DeferInterrupts>();
}

Operation::Operation(Operation&& other) noexcept
    : m_ctx(other.m_ctx), m_lock(std::move(other.m_lock)), m_starting(std::move(other.m_starting)),
      m_op(std::move(other.m_op)),
      m_defer(std::move(other.m_defer)), m_intent(other.m_intent) {
  other.m_intent.reset();
}

Operation::~Operation() {
  // The journal entry stays when it cannot be ended: doctor then reports an
  // operation that has in fact finished, and --fix clears it after checking.
  if (m_intent) warn_if_failed(*m_ctx, m_ctx->store.end_intent(*m_intent), "closing the journal entry");
}

Status Operation::step(const std::string& name) {
  if (int s = m_defer ? 0 : m_ctx->processes.interrupted())
    return fail(ErrorKind::Interrupted, fmt::format("interrupted by {}; what it had made is undone",
                                                    os::signal_name(s)));
  if (m_intent) TRY(m_ctx->store.advance_intent(*m_intent, name));
  fault_hook(m_ctx->processes, m_op, name);
  return {};
}

}  // namespace pgd
