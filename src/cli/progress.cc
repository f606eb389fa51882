#include "cli/progress.h"

#include <cstdio>

#include <fmt/format.h>

#include "cli/output.h"

namespace pgd::cli {
namespace {

constexpr const char* k_clear_line = "\r\033[K";

}  // namespace

void TerminalProgress::subject_header(const std::string& subject) {
  if (subject == m_subject) return;
  m_subject = subject;
  fmt::print(stderr, "{}:\n", subject);
}

void TerminalProgress::phase_started(const std::string& subject, const std::string& phase) {
  subject_header(subject);
  m_phase = phase;
  fmt::print(stderr, "  {:<14}…", phase);
  std::fflush(stderr);
}

void TerminalProgress::phase_note(const std::string& subject, const std::string& note, double ms) {
  subject_header(subject);
  fmt::print(stderr, "{}  {:<14}… {} ({})", k_clear_line, m_phase, note, format_ms(ms));
  std::fflush(stderr);
}

void TerminalProgress::phase_done(const std::string& subject, const std::string& phase, double ms) {
  subject_header(subject);
  fmt::print(stderr, "{}  {:<14}{:>10}\n", k_clear_line, phase, format_ms(ms));
  m_phase.clear();
}

}  // namespace pgd::cli
