// pgd completion bash|zsh, pgd man, and the hidden pgd __complete that feeds
// completion with names from the state.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/reference.h"

#ifndef PGD_VERSION
#define PGD_VERSION "0.0.0"
#endif

namespace pgd::cli {
namespace {

struct MetaOptions {
  std::string shell, what;
};

Status run_completion(const MetaOptions& o, const CLI::App& app, const Output&) {
  CommandSpec root = describe(app);
  if (o.shell == "bash") {
    fmt::print("{}", bash_completion(root));
  } else if (o.shell == "zsh") {
    fmt::print("{}", zsh_completion(root));
  } else {
    return fail(ErrorKind::Usage, fmt::format("completion: unknown shell '{}' (use bash or zsh)", o.shell));
  }
  return {};
}

// Names only, one per line; quiet when pgd is not set up (completion must not nag).
Status run_complete(const MetaOptions& o, Env& env) {
  if (o.what != "projects" && o.what != "branches")
    return fail(ErrorKind::Usage, "__complete: projects or branches");
  auto store = env.store();
  if (!store) return {};
  if (o.what == "projects") {
    if (auto projects = (*store)->projects())
      for (const auto& p : *projects) fmt::print("{}\n", p.name);
    return {};
  }
  if (auto branches = (*store)->branches())
    for (const auto& b : *branches) fmt::print("{}\n", b.full_name());
  return {};
}

}  // namespace

void add_meta_commands(CLI::App& app, Invocation& inv) {
  auto o = std::make_shared<MetaOptions>();
  auto* completion = app.add_subcommand("completion", "Print a shell completion script (bash or zsh)");
  completion->add_option("shell", o->shell, "bash or zsh")->required();
  completion->callback([&inv, &app, o] {
    inv.action = [&app, o](Env&, const Output& out) { return run_completion(*o, app, out); };
  });
  auto* man = app.add_subcommand("man", "Print the pgd(1) manual page (roff): pgd man | man -l -");
  man->callback([&inv, &app] {
    inv.action = [&app](Env&, const Output&) -> Status {
      fmt::print("{}", man_page(describe(app), PGD_VERSION));
      return {};
    };
  });
  auto* complete = app.add_subcommand("__complete", "names for shell completion");
  complete->group("");
  complete->add_option("what", o->what, "projects or branches")->required();
  complete->callback([&inv, o] { inv.action = [o](Env& e, const Output&) { return run_complete(*o, e); }; });
}

}  // namespace pgd::cli
