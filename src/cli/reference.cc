#include "cli/reference.h"

#include <fmt/format.h>

namespace pgd::cli {
namespace {

ArgKind arg_kind(const std::string& path, const CLI::Option& positional) {
  if (positional.get_description().find("<project>/<branch>") != std::string::npos)
    return ArgKind::Branch;
  if (positional.get_name(true) == "project") return ArgKind::Project;
  if (path.rfind("project ", 0) == 0 && path != "project create") return ArgKind::Project;
  return ArgKind::None;
}

void walk(const CommandSpec& c, const std::function<void(const CommandSpec&)>& visit) {
  visit(c);
  for (const auto& child : c.children) walk(child, visit);
}

std::string names(const CommandSpec& c) {
  std::string out;
  for (const auto& child : c.children) {
    out += (out.empty() ? "" : " ") + child.path.substr(child.path.rfind(' ') + 1);
    for (const auto& a : child.aliases) out += " " + a;
  }
  return out;
}

std::string flags(const CommandSpec& c) {
  std::string out = "--help";
  for (const auto& o : c.options) out += " " + o.flag;
  return out;
}

const char* kind_name(ArgKind kind) {
  return kind == ArgKind::Branch ? "branches" : kind == ArgKind::Project ? "projects" : "";
}

// roff: backslashes escaped, hyphens as \- (so they copy-paste as ASCII).
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

}  // namespace

CommandSpec describe(const CLI::App& app, const std::string& path) {
  CommandSpec spec{path, app.get_description(), app.get_aliases(), {}, ArgKind::None, {}, {}};
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional() && !o->nonpositional()) {
      spec.positionals.push_back(o->get_name(true));
      if (spec.arg_kind == ArgKind::None) spec.arg_kind = arg_kind(path, *o);
      continue;
    }
    if (o->get_lnames().empty() || o->get_lnames()[0] == "help") continue;
    spec.options.push_back({"--" + o->get_lnames()[0], o->get_description(), o->get_expected_min() > 0});
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); }))
    spec.children.push_back(describe(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name()));
  return spec;
}

std::string bash_completion(const CommandSpec& root) {
  std::string subs, opts, kinds;
  walk(root, [&](const CommandSpec& c) {
    if (!c.children.empty()) subs += fmt::format("    \"{}\") echo \"{}\" ;;\n", c.path, names(c));
    opts += fmt::format("    \"{}\") echo \"{}\" ;;\n", c.path, flags(c));
    if (c.arg_kind != ArgKind::None) kinds += fmt::format("    \"{}\") echo {} ;;\n", c.path, kind_name(c.arg_kind));
    for (const auto& alias : c.aliases) {
      std::string alias_path = c.path.substr(0, c.path.rfind(' ') + 1) + alias;
      opts += fmt::format("    \"{}\") echo \"{}\" ;;\n", alias_path, flags(c));
      if (c.arg_kind != ArgKind::None)
        kinds += fmt::format("    \"{}\") echo {} ;;\n", alias_path, kind_name(c.arg_kind));
    }
  });
  return fmt::format(R"(# pgd completion for bash, generated from pgd's command definitions.
# Use: source <(pgd completion bash)   (or save it in /etc/bash_completion.d/pgd)
_pgd_subcommands() {{
  case "$1" in
{}  esac
}}
_pgd_options() {{
  case "$1" in
{}  esac
}}
_pgd_arg_kind() {{
  case "$1" in
{}  esac
}}
_pgd() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
  local path="" w i words=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${{COMP_WORDS[i]}}
    [[ $w == -* ]] && continue
    [[ " $(_pgd_subcommands "$path") " == *" $w "* ]] && path="${{path:+$path }}$w"
  done
  if [[ $cur == -* ]]; then
    words=$(_pgd_options "$path")
  elif [[ $prev == --from ]]; then
    words=$("${{COMP_WORDS[0]}}" __complete branches 2>/dev/null)
  else
    words=$(_pgd_subcommands "$path")
    local kind
    kind=$(_pgd_arg_kind "$path")
    [[ -z $words && -n $kind ]] && words=$("${{COMP_WORDS[0]}}" __complete "$kind" 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -F _pgd pgd
)",
                     subs, opts, kinds);
}

std::string zsh_completion(const CommandSpec& root) {
  return "# pgd completion for zsh, generated from pgd's command definitions.\n"
         "# Use: source <(pgd completion zsh)   in ~/.zshrc\n"
         "autoload -U +X compinit && compinit\n"
         "autoload -U +X bashcompinit && bashcompinit\n" +
         bash_completion(root);
}

std::string man_page(const CommandSpec& root, const std::string& version) {
  std::string out = fmt::format(
      ".TH PGD 1 \"\" \"pgd {}\" \"User Commands\"\n"
      ".SH NAME\npgd \\- instant branching for PostgreSQL\n"
      ".SH SYNOPSIS\n.B pgd\n.I command\n[\\fIoptions\\fR]\n"
      ".SH DESCRIPTION\n"
      "A \\fIproject\\fR is a PostgreSQL database with a \\fBmain\\fR branch; a \\fIbranch\\fR is a "
      "complete, writable PostgreSQL server on its own port, made from a copy\\-on\\-write clone "
      "of its parent's data directory on btrfs or XFS. Snapshots, continuous WAL archiving and "
      "point\\-in\\-time recovery go back to any moment. Every command takes \\fB\\-\\-json\\fR.\n"
      ".SH COMMANDS\n",
      version);
  walk(root, [&](const CommandSpec& c) {
    if (c.path.empty() || !c.children.empty()) return;
    std::string synopsis = "pgd " + c.path;
    for (const auto& p : c.positionals) synopsis += " \\fI" + roff(p) + "\\fR";
    out += fmt::format(".TP\n.B {}\n{}\n", synopsis, roff(c.help));
    if (!c.aliases.empty()) out += fmt::format("Alias: \\fB{}\\fR.\n", roff(c.aliases[0]));
    if (c.options.empty()) return;
    out += ".RS\n";
    for (const auto& o : c.options)
      out += fmt::format(".TP\n.B {}{}\n{}\n", roff(o.flag), o.takes_value ? " \\fIVALUE\\fR" : "", roff(o.help));
    out += ".RE\n";
  });
  out +=
      ".SH ENVIRONMENT\n"
      ".TP\n.B PGD_HOME\nState, secrets, logs and WAL archives (default /var/lib/pgd for root, "
      "else ~/.local/share/pgd).\n"
      ".TP\n.B PGSERVICEFILE, PGPASSFILE\nThe libpq service and password files in which pgd keeps "
      "one entry per branch (default ~/.pg_service.conf and ~/.pgpass).\n"
      ".TP\n.B PGD_CLIENT_FILES\nSet to \\fBoff\\fR to leave those files alone.\n"
      ".TP\n.B NO_COLOR\nWhen set and not empty, no colours.\n"
      ".SH EXIT STATUS\n0 on success, 1 on failure, 2 on a usage error or an invalid name "
      "(nothing is created then).\n"
      ".SH SEE ALSO\n\\fBpsql\\fR(1), \\fBpg_service.conf\\fR, the README of pgd.\n";
  return out;
}

}  // namespace pgd::cli
