// SIGINT, SIGTERM and SIGHUP are noted, not fatal: the command stops at its
// next safe point (core's Operation::step, a wait for a server or a lock),
// undoes what it made exactly as on a failure, and exits 128 + the signal. A
// signal during that undo, or during work that must finish (a deletion), only
// prints why pgd is still working. (kill -9 is `pgd doctor --fix`'s job.)
// Thread-safety: the state is a few sig_atomic_t; pgd is single-threaded.
#pragma once

namespace pgd::os {

// Installs the handlers; called once by cli::run.
void catch_interrupts();
// The first signal received, or 0; 0 also while interrupts are deferred.
int interrupt_signal();
// The first signal received, deferred or not (for the exit code).
int received_signal();
// "SIGINT", "SIGTERM", "SIGHUP".
const char* signal_name(int signal);

// While one lives, interrupt_signal() is 0 and a signal only prints that the
// command finishes first: for deletions, a reset past its swap, and undos.
class DeferInterrupts {
 public:
  DeferInterrupts();
  ~DeferInterrupts();
  DeferInterrupts(const DeferInterrupts&) = delete;
  DeferInterrupts& operator=(const DeferInterrupts&) = delete;
};

}  // namespace pgd::os
