// The command table: each group registers its subcommands on the CLI11 app.
// A parsed command leaves its action in the Invocation; cli::run executes it
// once parsing succeeded, so usage errors never half-run anything.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "cli/env.h"
#include "cli/output.h"

namespace pgd::cli {

struct Invocation {
  bool json = false;
  std::function<Status(Env&, const Output&)> action;
};

// Adds --json to a leaf command.
void add_json_flag(CLI::App* cmd, Invocation& inv);

// A leaf command with --json whose action runs `runner` on the group's shared options.
template <typename Options>
CLI::App* add_leaf(CLI::App* group, Invocation& inv, std::shared_ptr<Options> options,
                   const std::string& name, const std::string& help,
                   Status (*runner)(const Options&, Env&, const Output&)) {
  auto* cmd = group->add_subcommand(name, help);
  add_json_flag(cmd, inv);
  cmd->callback([&inv, options, runner] {
    inv.action = [options, runner](Env& e, const Output& out) { return runner(*options, e, out); };
  });
  return cmd;
}

// The positional argument "name": a branch as <project>/<branch>.
CLI::Option* add_branch_arg(CLI::App* cmd, std::string& ref);

// A command group ("pgd branch ...") that needs one of its subcommands.
CLI::App* add_group(CLI::App& app, const std::string& name, const std::string& help);

void add_setup_command(CLI::App& app, Invocation& inv);
void add_project_commands(CLI::App& app, Invocation& inv);
void add_branch_commands(CLI::App& app, Invocation& inv);
void add_connect_command(CLI::App& app, Invocation& inv);
void add_diff_command(CLI::App& app, Invocation& inv);
void add_lifecycle_commands(CLI::App& app, Invocation& inv);  // status, start, stop, restart
void add_doctor_command(CLI::App& app, Invocation& inv);
void add_snapshot_commands(CLI::App& app, Invocation& inv);
void add_wal_commands(CLI::App& app, Invocation& inv);
void add_meta_commands(CLI::App& app, Invocation& inv);  // completion, man, __complete
void add_serve_command(CLI::App& app, Invocation& inv);
void add_branch_set_command(CLI::App* branch_group, Invocation& inv);
void add_project_set_command(CLI::App* project_group, Invocation& inv);
// A duration (30m, 3d) or `off_word` (none, never); a Usage error naming `option` otherwise.
Result<std::optional<int64_t>> parse_duration_setting(const std::string& option, const std::string& text,
                                                      const std::string& off_word);

}  // namespace pgd::cli
