#include "postgres/sql.h"

#include <libpq-fe.h>

#include <fmt/format.h>

#include "base/strings.h"

namespace pgd::pg {
namespace {

std::string trimmed(const char* s) { return trim(s ? s : ""); }

}  // namespace

Result<Row> first_row(const Rows& rows, size_t columns, const std::string& sql) {
  if (rows.empty() || rows[0].size() < columns)
    return fail(fmt::format("{}: expected a row of {} value(s), got {}", sql, columns,
                            rows.empty() ? "no row" : fmt::format("{} value(s)", rows[0].size())));
  return rows[0];
}

Result<Row> Session::query_row(const std::string& sql, size_t columns) {
  TRY_ASSIGN(Rows rows, query(sql));
  return first_row(rows, columns, sql);
}

void Connection::Closer::operator()(pg_conn* c) const { PQfinish(c); }

namespace {

pg_conn* connect_local(const ConnectParams& p) {
  std::string port = std::to_string(p.port), timeout = std::to_string(p.connect_timeout_s);
  // Local connections: no TLS handshake and no GSSAPI probe (libpq's default
  // gssencmode=prefer loads Kerberos on every connect: ~3 ms).
  const char* keys[] = {"host",   "port",    "user", "password", "dbname", "connect_timeout",
                        "sslmode", "gssencmode", nullptr};
  const char* values[] = {p.host.c_str(),   port.c_str(),    p.user.c_str(), p.password.c_str(),
                          p.dbname.c_str(), timeout.c_str(), "disable",      "disable", nullptr};
  return PQconnectdbParams(keys, values, 0);
}

pg_conn* connect_remote(const ConnectParams& p) {
  // Later keys override what the expanded conninfo says; an empty password
  // leaves libpq to its own sources (PGPASSWORD, ~/.pgpass, the service).
  std::vector<const char*> keys{"dbname", "password", "application_name"};
  std::vector<const char*> values{p.conninfo.c_str(), p.password.c_str(), "pgd"};
  auto bounded = bounded_connection(p.connect_timeout_s);
  for (const auto& [key, value] : bounded) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  return PQconnectdbParams(keys.data(), values.data(), 1);
}

}  // namespace

bool needs_password(const Error& e) { return e.message.find("no password supplied") != std::string::npos; }

ConninfoCheck check_conninfo(const std::string& conninfo) {
  ConninfoCheck out;
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (!options) {
    out.error = err ? trimmed(err) : "out of memory";
    PQfreemem(err);
    return out;
  }
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string key = o->keyword;
    if (key == "password") out.has_password = true;
    if (key == "dbname") out.dbname = o->val;
  }
  PQconninfoFree(options);
  return out;
}

std::string conninfo_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::vector<std::pair<std::string, std::string>> bounded_connection(int timeout_s) {
  return {{"connect_timeout", std::to_string(timeout_s)},
          {"keepalives", "1"},
          {"keepalives_idle", "5"},
          {"keepalives_interval", "2"},
          {"keepalives_count", "3"},
          {"tcp_user_timeout", "15000"}};
}

std::string with_settings(const std::string& conninfo,
                          const std::vector<std::pair<std::string, std::string>>& settings) {
  bool uri = conninfo.rfind("postgresql://", 0) == 0 || conninfo.rfind("postgres://", 0) == 0;
  std::string out = conninfo;
  for (const auto& [key, value] : settings) {
    if (uri)
      out += (out.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    else
      out += " " + key + "=" + value;
  }
  return out;
}

Result<Connection> Connection::open(const ConnectParams& p) {
  bool remote = !p.conninfo.empty();
  pg_conn* c = remote ? connect_remote(p) : connect_local(p);
  std::string where = remote ? p.label : fmt::format("postgres at {}:{}", p.host, p.port);
  if (!c) return fail(where + ": connect: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = trimmed(PQerrorMessage(c));
    PQfinish(c);
    return fail(fmt::format("{}: connect: {}", where, msg));
  }
  return Connection(c, where);
}

int Connection::server_version() const { return PQserverVersion(m_conn.get()); }

std::string Connection::password_used() const {
  const char* p = PQpass(m_conn.get());
  return p ? p : "";
}

std::string Connection::endpoint_conninfo() const {
  static const std::string k_keys[] = {"host", "hostaddr", "port", "user", "sslmode",
                                       "sslrootcert", "sslcert", "sslkey", "sslcrl"};
  PQconninfoOption* options = PQconninfo(m_conn.get());
  if (!options) return "";
  std::string out;
  for (const auto& key : k_keys)
    for (PQconninfoOption* o = options; o->keyword; ++o)
      if (key == o->keyword && o->val && *o->val)
        out += (out.empty() ? "" : " ") + key + "=" + conninfo_quote(o->val);
  PQconninfoFree(options);
  return out;
}

Result<std::string> Connection::encrypt_password(const std::string& user, const std::string& password) {
  char* v = PQencryptPasswordConn(m_conn.get(), password.c_str(), user.c_str(), "scram-sha-256");
  if (!v) return fail(fmt::format("{}: encrypt a password: {}", m_where, trimmed(PQerrorMessage(m_conn.get()))));
  std::string out = v;
  PQfreemem(v);
  return out;
}

Result<Rows> Connection::query(const std::string& sql) {
  PGresult* r = PQexec(m_conn.get(), sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string msg = trimmed(PQresultErrorMessage(r));
    PQclear(r);
    return fail(fmt::format("{}: {}: {}", m_where, sql, msg));
  }
  Rows rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
    rows.push_back(std::move(row));
  }
  PQclear(r);
  return rows;
}

Status Connection::exec(const std::string& sql) {
  TRY(query(sql));
  return {};
}

Ping ping(int port) {
  std::string p = std::to_string(port);
  const char* keys[] = {"host", "port", "dbname", "connect_timeout", "sslmode", "gssencmode", nullptr};
  const char* values[] = {"127.0.0.1", p.c_str(), "postgres", "2", "disable", "disable", nullptr};
  switch (PQpingParams(keys, values, 0)) {
    case PQPING_OK: return Ping::Ok;
    case PQPING_REJECT: return Ping::Rejecting;
    default: return Ping::NoResponse;
  }
}

}  // namespace pgd::pg
