// Live progress on a terminal: each phase of long work (create, reset, PITR
// replay) appears as it starts, "  start …", and is rewritten in place with its
// duration when it ends. Used only when stderr is a terminal and not --json;
// otherwise commands print their phases once, at the end.
#pragma once

#include <string>

#include "core/context.h"

namespace pgd::cli {

class TerminalProgress : public Progress {
 public:
  void phase_started(const std::string& subject, const std::string& phase) override;
  void phase_note(const std::string& subject, const std::string& note, double ms) override;
  void phase_done(const std::string& subject, const std::string& phase, double ms) override;

 private:
  void subject_header(const std::string& subject);
  std::string m_subject;
  std::string m_phase;  // in progress, shown without a newline
};

}  // namespace pgd::cli
