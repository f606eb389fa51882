// A thin libpq connection: parameters go through PQconnectdbParams (never a
// command line), results come back as text. Errors name host:port.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

struct pg_conn;

namespace pgd::pg {

struct ConnectParams {
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string user = "postgres";
  std::string password;
  std::string dbname = "postgres";
  int connect_timeout_s = 10;
  // A database elsewhere (an import's source): a libpq URI, key=value string
  // or "service=NAME", used instead of the local fields above with libpq's
  // defaults (TLS if offered, ~/.pgpass, PGPASSWORD). `password` still
  // overrides when set; `label` names it in errors (it never holds a password).
  std::string conninfo;
  std::string label;
};

// Whether a connection failed because the server wants a password that
// libpq found nowhere (then a prompt may help).
bool needs_password(const Error& e);

// Whether libpq can parse `conninfo`, and whether it carries a password.
struct ConninfoCheck {
  std::string error;       // empty: well-formed
  bool has_password = false;
  std::string dbname;      // as given, if any
};
ConninfoCheck check_conninfo(const std::string& conninfo);

// A value for a key=value connection string: 'it\'s' (any database name).
std::string conninfo_quote(const std::string& value);

// Settings that make a connection elsewhere give up in bounded time: on
// connecting (`timeout_s`) and when the network vanishes later (TCP keepalives
// and a user timeout: a cut link fails a copy in ~15 s instead of hours).
std::vector<std::pair<std::string, std::string>> bounded_connection(int timeout_s);
// `conninfo` (a URI or key=value string) with those settings added.
std::string with_settings(const std::string& conninfo,
                          const std::vector<std::pair<std::string, std::string>>& settings);

using Row = std::vector<std::string>;
using Rows = std::vector<Row>;

// The first row of `rows` when it has at least `columns` values; otherwise an
// error naming `sql` (a server that answered unexpectedly, never an exception).
Result<Row> first_row(const Rows& rows, size_t columns, const std::string& sql);

// One session with a server: work that spans several statements (an online
// backup starts and stops on the same session) or must not pay for a new
// connection per statement. An interface so that core's use cases can be
// unit-tested with a fake.
class Session {
 public:
  virtual ~Session() = default;
  virtual Result<Rows> query(const std::string& sql) = 0;
  virtual Status exec(const std::string& sql) = 0;
  // query() + first_row(): one row of at least `columns` values.
  Result<Row> query_row(const std::string& sql, size_t columns);
  // `password` as a SCRAM-SHA-256 verifier for `user` (PQencryptPasswordConn),
  // so no plaintext password reaches the server or its log.
  virtual Result<std::string> encrypt_password(const std::string& user, const std::string& password) = 0;
};

class Connection : public Session {
 public:
  static Result<Connection> open(const ConnectParams& params);
  Result<Rows> query(const std::string& sql) override;
  Status exec(const std::string& sql) override;
  // The server's version number (150004 for 15.4).
  int server_version() const;
  // The password libpq used (given, PGPASSWORD, ~/.pgpass, a service's
  // passfile); empty when the server asked for none.
  std::string password_used() const;
  // Where this connection went, as a key=value string without password or
  // database: host, port, user and TLS settings as libpq resolved them (from
  // a URI, a service file or PG* variables), usable by another OS user.
  std::string endpoint_conninfo() const;
  Result<std::string> encrypt_password(const std::string& user, const std::string& password) override;

 private:
  struct Closer {
    void operator()(pg_conn* c) const;
  };
  explicit Connection(pg_conn* c, std::string where) : m_conn(c), m_where(std::move(where)) {}
  std::unique_ptr<pg_conn, Closer> m_conn;
  std::string m_where;
};

enum class Ping { Ok, Rejecting, NoResponse };
// Whether a server on 127.0.0.1:port accepts connections (no authentication needed).
Ping ping(int port);

}  // namespace pgd::pg
