#include "core/operation.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "os/fs.h"

namespace pgd {
namespace {

constexpr int k_lock_timeout_ms = 600'000;  // a PITR may replay for minutes

void fault_hook(const std::string& op, const std::string& step) {
  const char* fault = std::getenv("PGD_FAULT");
  if (fault && op + ":" + step == fault) ::kill(::getpid(), SIGKILL);
}

}  // namespace

Result<os::FileLock> lock_project(Context& ctx, const std::string& project) {
  TRY(os::make_dirs(ctx.paths.home + "/locks", 0700));
  return os::FileLock::acquire(ctx.paths.lock_file(project), fmt::format("project '{}'", project),
                               k_lock_timeout_ms);
}

Result<Operation> Operation::begin(Context& ctx, const std::string& op, const std::string& project,
                                   const std::string& subject) {
  TRY_ASSIGN(os::FileLock lock, lock_project(ctx, project));
  Operation operation(ctx, std::move(lock), op);
  TRY_ASSIGN(operation.m_intent, ctx.store.begin_intent(op, subject, ctx.clock.now_iso8601(), ::getpid()));
  fault_hook(op, "begun");
  return operation;
}

Operation::Operation(Operation&& other) noexcept
    : m_ctx(other.m_ctx), m_lock(std::move(other.m_lock)), m_op(std::move(other.m_op)),
      m_intent(other.m_intent) {
  other.m_intent.reset();
}

Operation::~Operation() {
  // The journal entry stays when it cannot be ended: doctor then reports an
  // operation that has in fact finished, and --fix clears it after checking.
  if (m_intent) warn_if_failed(*m_ctx, m_ctx->store.end_intent(*m_intent), "closing the journal entry");
}

Status Operation::step(const std::string& name) {
  if (m_intent) TRY(m_ctx->store.advance_intent(*m_intent, name));
  fault_hook(m_op, name);
  return {};
}

}  // namespace pgd
