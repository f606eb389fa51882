#include "cli/views.h"

#include <cctype>

#include <fmt/format.h>

#include "base/time_format.h"
#include "core/follow.h"
#include "core/housekeeping.h"
#include "core/projects.h"
#include "core/snapshots.h"
#include "core/tls.h"

namespace pgd::cli {

namespace {

// A URI path segment: RFC 3986's unreserved characters as they are, the rest
// percent-encoded (a database named "Shop's DB" is Shop%27s%20DB).
std::string uri_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

std::string connection_uri(Context& ctx, const BranchRecord& b) {
  return fmt::format("postgresql://{}@{}:{}/{}", k_superuser, k_host, b.port,
                     uri_escape(database_of(ctx, b.project)));
}

namespace {

nlohmann::json uptime_json(Context& ctx, const Instance& in) {
  auto started = ctx.postgres.started_at(in);
  if (!started) return nullptr;
  return ctx.clock.now_us() / 1'000'000 - *started;
}

}  // namespace

nlohmann::json following_json(Context& ctx, const BranchRecord& main) {
  auto project = ctx.store.project(main.project);
  nlohmann::json j = {{"primary", project && *project ? nlohmann::json((*project)->primary.value_or(""))
                                                      : nlohmann::json(nullptr)},
                      {"receiver", "stopped"}, {"lag_bytes", nullptr}, {"lag_seconds", nullptr},
                      {"replayed_at", nullptr}};
  if (!ctx.postgres.running_pid(instance_for(ctx, main))) return j;
  auto st = follow_status(ctx, main);
  if (!st) {
    j["receiver"] = "unknown";
    j["error"] = st.error().message;
    return j;
  }
  j["receiver"] = st->receiver;
  j["replay_lsn"] = st->replay_lsn;
  if (st->lag_bytes) j["lag_bytes"] = *st->lag_bytes;
  if (st->lag_seconds) j["lag_seconds"] = std::round(*st->lag_seconds * 1000) / 1000;
  if (!st->replayed_at.empty()) j["replayed_at"] = st->replayed_at;
  return j;
}

nlohmann::json policies_json(const ProjectRecord& p) {
  auto opt = [](const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"idle_stop_s", opt(p.idle_stop_s)}, {"snapshot_every_s", opt(p.snapshot_every_s)},
          {"keep_snapshots_s", opt(p.keep_snapshots_s)}, {"keep_wal_s", opt(p.keep_wal_s)}};
}

void add_housekeeping_json(Context& ctx, const BranchRecord& b, nlohmann::json& j) {
  auto project = ctx.store.project(b.project);
  int64_t idle = project && *project ? effective_idle_stop_s(**project, b) : 0;
  j["expires_at"] = b.expires_at ? nlohmann::json(*b.expires_at) : nlohmann::json(nullptr);
  j["protected"] = b.is_protected;
  j["idle_stop_s"] = idle > 0 ? nlohmann::json(idle) : nlohmann::json(nullptr);  // null: never
}

nlohmann::json branch_json(Context& ctx, const BranchRecord& b, bool with_size) {
  Instance in = instance_for(ctx, b);
  nlohmann::json j = {
      {"name", b.full_name()},
      {"project", b.project},
      {"branch", b.name},
      {"parent", b.parent ? nlohmann::json(b.project + "/" + *b.parent) : nlohmann::json(nullptr)},
      {"status", to_string(live_status(ctx, b))},
      {"host", k_host},
      {"port", b.port},
      {"user", k_superuser},
      {"database", database_of(ctx, b.project)},
      {"uri", connection_uri(ctx, b)},
      {"created_at", b.created_at},
      {"uptime_s", uptime_json(ctx, in)},
      {"ssl_root_cert", has_certificates(ctx.files, ctx.paths, b.project)
                            ? nlohmann::json(ca_cert_path(ctx.paths, b.project))
                            : nlohmann::json(nullptr)},
      {"service", b.project + "-" + b.name},
      {"pg_version", b.pg_version},
      {"data_dir", in.data_dir},
      {"socket_dir", in.socket_dir},
      {"log_file", in.log_path},
      {"as_of", b.as_of ? nlohmann::json(*b.as_of) : nlohmann::json(nullptr)},
  };
  // Where its recoverable window starts: its oldest replayable snapshot (the
  // base taken when it was made or refreshed, until cleanup moves the window on).
  auto snapshots = ctx.store.snapshots(b.project, b.name);
  auto window = snapshots ? replayable(*snapshots) : std::vector<SnapshotRecord>{};
  j["recoverable_from"] = !window.empty()
                              ? nlohmann::json(format_iso8601_ms(window.front().created_us))
                              : nlohmann::json(nullptr);
  if (is_following_main(ctx, b)) j["following"] = following_json(ctx, b);
  add_housekeeping_json(ctx, b, j);
  if (with_size) {
    auto usage = ctx.storage.usage(b.volume);
    j["size_bytes"] = usage ? nlohmann::json(usage->exclusive_bytes) : nlohmann::json(nullptr);
  }
  return j;
}

nlohmann::json timings_json(const Timings& timings) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [phase, ms] : timings) j[phase] = std::round(ms * 100) / 100;
  return j;
}

void print_created(const Output& out, Context& ctx, const std::string& headline,
                   const BranchCreated& created) {
  if (out.json()) {
    nlohmann::json j = branch_json(ctx, created.branch, false);
    j["timings_ms"] = timings_json(created.timings);
    j["total_ms"] = std::round(created.total_ms * 100) / 100;
    out.document(j);
    return;
  }
  out.line(fmt::format("{} in {}", headline, format_ms(created.total_ms)));
  if (!out.live())  // otherwise the phases are on the terminal already
    for (const auto& [phase, ms] : created.timings)
      out.line(fmt::format("  {:<14}{:>10}", phase, format_ms(ms)));
  if (created.branch.as_of)
    out.line(fmt::format("It holds the primary's commits up to {}", *created.branch.as_of));
  out.line(fmt::format("Connect: psql service={}-{}   or: pgd connect {}", created.branch.project,
                       created.branch.name, created.branch.full_name()));
}

}  // namespace pgd::cli
