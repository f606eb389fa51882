# A "remote" PostgreSQL 15 for import scenarios: a network namespace of the
# test's own, joined to this machine by a veth pair, with a cluster listening
# on the namespace's address only. Traffic never leaves the machine; the
# cleanup stops the server by its pid and deletes the namespace (and with it
# both ends of the veth pair).
# Usage (after lib.sh, BEFORE setup_pool: `ip netns exec` copies the mounts of
# the moment, and a server started then would keep a pool mounted later busy):
#   source test_host.sh; start_test_host
# Then: $HOST_ADDR, $HOST_URL_BASE (postgresql://app@ADDR:5432), host_sql DB SQL
# (as the superuser, over the cluster's socket), host_link down|up.

command -v ip >/dev/null || skip "iproute2 not installed"

HOST_NS=pgdt$$
HOST_VETH=pgdh$$       # this machine's end
HOST_PEER=pgdn$$       # the namespace's end
# A /24 no route names yet: a namespace deleted moments ago (the previous
# scenario's) may still hold a route that would swallow this one's traffic.
for i in $(seq 0 199); do
  HOST_NET=10.213.$(( ($$ + i) % 200 + 20 ))
  [ -z "$(ip route show "$HOST_NET.0/24")" ] && break
done
HOST_ADDR=$HOST_NET.2
HOST_DATA=$T/host/data
HOST_SOCK=$T/host/sock
HOST_APP_PASSWORD=app-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
HOST_URL_BASE=postgresql://app@$HOST_ADDR:5432
HOST_BIN=/usr/lib/postgresql/15/bin

host_sql() {  # DB SQL: as the superuser, over the socket (trust, local only)
  psql -h "$HOST_SOCK" -p 5432 -U postgres -d "$1" -XtAq -v ON_ERROR_STOP=1 -c "$2"
}
host_link() { ip link set "$HOST_VETH" "$1"; }

stop_test_host() {
  local pid
  if [ -f "$HOST_DATA/postmaster.pid" ]; then
    pid=$(head -n1 "$HOST_DATA/postmaster.pid")
    kill -INT "$pid" 2>/dev/null
    for _ in $(seq 1 300); do process_gone "$pid" && break; sleep 0.1; done
  fi
  # `ip netns del` fails (EBUSY) while another mount namespace still holds a
  # copy of the namespace's mount: retry until it is gone.
  for _ in $(seq 1 100); do
    ip netns del "$HOST_NS" 2>/dev/null
    ip netns list | grep -qw "$HOST_NS" || break
    sleep 0.05
  done
  ip link del "$HOST_VETH" 2>/dev/null
  # The kernel tears a namespace down in the background: wait until this
  # machine's end of the pair (and its route) is gone.
  for _ in $(seq 1 100); do ip link show "$HOST_VETH" >/dev/null 2>&1 || break; sleep 0.05; done
  return 0
}

start_test_host() {
  CLEANUP_HOOKS+=(stop_test_host)
  ip netns add "$HOST_NS"
  ip link add "$HOST_VETH" type veth peer name "$HOST_PEER"
  ip link set "$HOST_PEER" netns "$HOST_NS"
  ip addr add "$HOST_NET.1/24" dev "$HOST_VETH"
  ip link set "$HOST_VETH" up
  ip netns exec "$HOST_NS" ip addr add "$HOST_ADDR/24" dev "$HOST_PEER"
  ip netns exec "$HOST_NS" ip link set "$HOST_PEER" up
  ip netns exec "$HOST_NS" ip link set lo up
  mkdir -p "$HOST_DATA" "$HOST_SOCK"
  chown -R postgres: "$T/host"
  runuser -u postgres -- "$HOST_BIN/initdb" -D "$HOST_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
  cat >>"$HOST_DATA/postgresql.conf" <<EOF
listen_addresses = '$HOST_ADDR'
port = 5432
unix_socket_directories = '$HOST_SOCK'
max_wal_size = 2GB
EOF
  echo "host all all $HOST_NET.0/24 scram-sha-256" >>"$HOST_DATA/pg_hba.conf"
  ip netns exec "$HOST_NS" runuser -u postgres -- "$HOST_BIN/pg_ctl" -D "$HOST_DATA" \
    -l "$T/host/server.log" -w start >/dev/null
  # The password reaches psql on its standard input, never a command line.
  host_sql postgres "create role app login createdb" >/dev/null
  printf '%s\n%s\n' "\\set pw '$HOST_APP_PASSWORD'" "alter role app password :'pw';" |
    psql -h "$HOST_SOCK" -U postgres -d postgres -XqA -v ON_ERROR_STOP=1 >/dev/null
}
