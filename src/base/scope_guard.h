// Runs a cleanup on scope exit unless dismissed: the rollback half of a
// multi-step use case ("from here on the clone exists: failure must destroy it").
#pragma once

#include <functional>
#include <utility>

namespace pgd {

class ScopeGuard {
 public:
  explicit ScopeGuard(std::function<void()> undo) : m_undo(std::move(undo)) {}
  ~ScopeGuard() {
    if (m_undo) m_undo();
  }
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  void dismiss() { m_undo = nullptr; }

 private:
  std::function<void()> m_undo;
};

}  // namespace pgd
