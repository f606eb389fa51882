#include "os/interrupts.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>

namespace pgd::os {
namespace {

volatile sig_atomic_t g_signal = 0;
volatile sig_atomic_t g_deferred = 0;

void say(const char* text) {
  // write(2) is async-signal-safe; a short write to a terminal is not worth a retry.
  ssize_t ignored = ::write(2, text, std::strlen(text));
  (void)ignored;
}

void on_signal(int signal) {
  if (g_signal == 0) {
    g_signal = signal;
    say(g_deferred ? "\npgd: interrupted; finishing what cannot be left half done, then stopping\n"
                   : "\npgd: interrupted; stopping and undoing what this command made\n");
    return;
  }
  say("\npgd: still cleaning up so that nothing is left half done; it stops by itself in a moment\n");
}

}  // namespace

void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // syscalls resume; the next safe point notices
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &action, nullptr);
}

int interrupt_signal() { return g_deferred ? 0 : g_signal; }
int received_signal() { return g_signal; }

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
  }
  return "a signal";
}

DeferInterrupts::DeferInterrupts() { g_deferred = g_deferred + 1; }
DeferInterrupts::~DeferInterrupts() { g_deferred = g_deferred - 1; }

}  // namespace pgd::os
