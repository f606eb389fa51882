#include "cli/app.h"

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "os/interrupts.h"

#ifndef PGD_VERSION
#define PGD_VERSION "0.0.0"
#endif

namespace pgd::cli {

void add_json_flag(CLI::App* cmd, Invocation& inv) {
  cmd->add_flag("--json", inv.json, "print JSON instead of text");
}

CLI::Option* add_branch_arg(CLI::App* cmd, std::string& ref) {
  return cmd->add_option("name", ref, "branch as <project>/<branch>");
}

CLI::App* add_group(CLI::App& app, const std::string& name, const std::string& help) {
  auto* group = app.add_subcommand(name, help);
  group->require_subcommand(1);
  return group;
}

namespace {

int run_command(int argc, char** argv) {
  CLI::App app{"pgd: instant branching for PostgreSQL", "pgd"};
  app.set_version_flag("--version", "pgd " PGD_VERSION);
  app.require_subcommand(1);
  Invocation inv;
  add_setup_command(app, inv);
  add_project_commands(app, inv);
  add_branch_commands(app, inv);
  add_connect_command(app, inv);
  add_diff_command(app, inv);
  add_snapshot_commands(app, inv);
  add_wal_commands(app, inv);
  add_lifecycle_commands(app, inv);
  add_doctor_command(app, inv);
  add_serve_command(app, inv);
  add_meta_commands(app, inv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 exits 100-127 on parse errors; pgd's contract is 2 for any usage error.
    fmt::print(stderr, "pgd: error: {}\nRun 'pgd --help' (or 'pgd <command> --help') for usage.\n",
               e.what());
    return 2;
  }
  OutputStyle style = detect_style(inv.json);
  Output out(style);
  if (!inv.action) return 2;
  Env env;
  TerminalProgress progress;
  if (style.live) env.set_progress(&progress);
  Status st = inv.action(env, out);
  for (const auto& w : env.warnings()) fmt::print(stderr, "pgd: warning: {}\n", w);
  // After failures too: a command that failed half-way may have changed branches.
  if (auto synced = env.sync_client_files(); !synced)
    fmt::print(stderr, "pgd: warning: {}\n", synced.error().message);
  if (!st) {
    out.error(st.error());
    return exit_code(st.error());
  }
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  // pgd's own code reports errors as values; this catches what a library or
  // the standard library throws (bad_alloc, a bug), so the user gets a message
  // and exit 1 instead of std::terminate's abort.
  os::catch_interrupts();
  try {
    return run_command(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "pgd: error: unexpected failure: {}\n", e.what());
  } catch (...) {
    fmt::print(stderr, "pgd: error: unexpected failure\n");
  }
  return 1;
}

}  // namespace pgd::cli
