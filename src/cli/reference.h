// The command reference, read off the CLI11 definitions so that help, shell
// completion and the man page can never disagree: `describe` turns the app into
// plain CommandSpecs, and the generators below are pure functions of them.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pgd::cli {

struct OptionSpec {
  std::string flag;  // "--from"
  std::string help;
  bool takes_value = false;
};

// What a command's positional argument names, for completion from the state.
enum class ArgKind { None, Project, Branch };

struct CommandSpec {
  std::string path;  // "branch create"; "" for pgd itself
  std::string help;
  std::vector<std::string> aliases;
  std::vector<std::string> positionals;  // "name", "project"
  ArgKind arg_kind = ArgKind::None;
  std::vector<OptionSpec> options;
  std::vector<CommandSpec> children;
};

// Visible commands only (a hidden command has an empty group).
CommandSpec describe(const CLI::App& app, const std::string& path = "");

// `source <(pgd completion bash)`: subcommands, options, and project and
// branch names from `pgd __complete projects|branches`.
std::string bash_completion(const CommandSpec& root);
// The same for zsh, through bashcompinit.
std::string zsh_completion(const CommandSpec& root);
// pgd(1) in roff.
std::string man_page(const CommandSpec& root, const std::string& version);

}  // namespace pgd::cli
