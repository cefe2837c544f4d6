# shellcheck shell=bash
# PostgreSQL 15 (Debian package), one private cluster on 127.0.0.1:5432.
# Sourced by infra.sh (needs lib.sh). Runs as the `postgres` user when invoked as root.

PG_VERSION=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
PG_PORT=5432
PG_HOST=127.0.0.1
PG_USER=shoplab
PG_PASSWORD=shoplab
PG_DATABASES=(shoplab_user shoplab_catalog shoplab_cart shoplab_payment shoplab_order shoplab_history shoplab_shipping shoplab_test)

if is_root; then
  PGDATA_DIR=${SHOPLAB_PGDATA:-/var/lib/shoplab/pg$PG_VERSION}
  PG_OS_USER=postgres
else
  PGDATA_DIR=${SHOPLAB_PGDATA:-$SHOPLAB_STATE/pg$PG_VERSION}
  PG_OS_USER=$(id -un)
fi
# Unix socket next to the data; /tmp when that path is too long for a socket name (107 bytes).
if ((${#PGDATA_DIR} + 16 <= 100)); then PG_SOCKET_DIR=$PGDATA_DIR; else PG_SOCKET_DIR=/tmp; fi

postgres_ports() { echo "$PG_PORT"; }
postgres_address() { echo "$PG_HOST:$PG_PORT"; }
postgres_cmdline_marks() { printf '%s\n' "postgres" "$PGDATA_DIR"; }

# Run a command as the PostgreSQL OS user, from a directory that user can read.
_pg_as() {
  if is_root; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

# psql as the postgres superuser over the unix socket (local auth is trust); SQL on stdin.
_pg_psql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

postgres_ready() { "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 2; }

_pg_apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends postgresql; then
    apt-get update
    apt-get install -y --no-install-recommends postgresql
  fi
  [[ -x $PG_BIN/initdb ]] || { echo "postgresql installed but $PG_BIN/initdb is missing (not version $PG_VERSION?)"; exit 1; }
}

_pg_initdb() {
  if is_root; then
    mkdir -p "$(dirname "$PGDATA_DIR")" "$PGDATA_DIR"
    chown "$PG_OS_USER:" "$PGDATA_DIR"
  else
    mkdir -p "$PGDATA_DIR"
  fi
  chmod 700 "$PGDATA_DIR"
  _pg_as "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256
}

# Our settings live in shoplab.conf (rewritten on every start) included from postgresql.conf.
_pg_configure() {
  write_if_changed "$PGDATA_DIR/shoplab.conf" <<EOF
# Written by infra/local/postgres.sh on every start; edit the script, not this file.
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
# The log and two-phase commit (docs/patterns/write-ahead-log.md, docs/patterns/two-phase-commit.md):
# logical decoding for the outbox relay that tails the WAL, and prepared transactions for the
# two-phase checkout. Changing these needs a server restart (infra.sh restarts it when they differ).
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
max_prepared_transactions = 100
password_encryption = 'scram-sha-256'
log_timezone = 'UTC'
timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  if ! grep -q "^include_if_exists 'shoplab.conf'" "$PGDATA_DIR/postgresql.conf"; then
    printf "\n# ShopLab local settings\ninclude_if_exists 'shoplab.conf'\n" >>"$PGDATA_DIR/postgresql.conf"
  fi
  if is_root; then chown "$PG_OS_USER:" "$PGDATA_DIR/shoplab.conf" "$PGDATA_DIR/postgresql.conf"; fi
}

postgres_install() {
  if [[ ! -x $PG_BIN/initdb ]]; then
    is_root || die postgres "$PG_BIN/initdb is missing; install it as root: apt-get install -y --no-install-recommends postgresql"
    step postgres "installing Debian package postgresql (apt-get)" _pg_apt_install
  else
    say postgres "PostgreSQL $PG_VERSION found in $PG_BIN (cached)"
  fi
  if is_root && ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    die postgres "OS user '$PG_OS_USER' does not exist (it comes with the postgresql package)"
  fi
  if [[ -f $PGDATA_DIR/PG_VERSION ]]; then
    say postgres "data directory $PGDATA_DIR already initialised (skip initdb)"
  else
    if [[ -d $PGDATA_DIR ]] && [[ -n $(ls -A "$PGDATA_DIR" 2>/dev/null) ]]; then
      die postgres "$PGDATA_DIR is not empty but has no PG_VERSION; move it away and retry"
    fi
    step postgres "initdb $PGDATA_DIR (UTF8, local trust, host scram-sha-256)" _pg_initdb
  fi
}

# The postmaster pid of our data directory, if it is alive.
_pg_postmaster_pid() {
  local pid
  [[ -r $PGDATA_DIR/postmaster.pid ]] || return 1
  read -r pid <"$PGDATA_DIR/postmaster.pid" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" && echo "$pid"
}

# Known owner of 5432: the Debian default cluster. Say so clearly; never touch it.
postgres_port_taken() {
  local port=$1 p cmd
  for p in $(port_pids "$port"); do
    cmd=$(pid_cmdline "$p")
    if [[ $cmd == *"/var/lib/postgresql/"* || $cmd == *"/etc/postgresql/"* ]]; then
      warn postgres "port $port is held by the Debian default PostgreSQL cluster (e.g. 15/main; see pg_lsclusters): $(describe_pid "$p")"
      warn postgres "it is not ours and is left alone; stop it with 'pg_ctlcluster 15 main stop' (or move it to another port) and retry"
    fi
  done
  return 1
}

_pg_start_daemon() {
  # -W: do not wait here; wait_ready polls pg_isready with our own timeout.
  # No -l: the server writes to the inherited stdout, i.e. our log file (opened by us, so the
  # postgres user needs no access to $SHOPLAB_STATE).
  _pg_as setsid "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -W start >>"$(log_file postgres)" 2>&1 </dev/null 8>&- 9>&-
}

_pg_record_pid() {
  local i pid
  for ((i = 0; i < 100; i++)); do
    if pid=$(_pg_postmaster_pid); then
      mkdir -p "$RUN_DIR"
      echo "$pid" >"$(pid_file postgres)"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

_pg_bootstrap_sql() {
  local db sql
  sql="DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN SUPERUSER CREATEDB CREATEROLE PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN SUPERUSER CREATEDB CREATEROLE PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;"
  for db in "${PG_DATABASES[@]}"; do
    sql+=$'\n'"SELECT 'CREATE DATABASE $db OWNER $PG_USER ENCODING ''UTF8''' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')"$'\n\\gexec'
  done
  printf '%s\n' "$sql" | _pg_psql
  # verify with the real credentials over TCP
  PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" \
    -d shoplab_order -c 'select 1' >/dev/null
}

postgres_start() {
  local st pid
  st=$(proc_state postgres)
  if [[ $st == running ]]; then
    already_running postgres
    # A server started before a setting that needs a restart changed (wal_level, ...): restart it
    # (the services reconnect), so that `make up` always leaves it running with today's settings.
    _pg_configure
    printf 'SELECT pg_reload_conf();\n' | _pg_psql >/dev/null
    if [[ $(printf 'SELECT count(*) FROM pg_settings WHERE pending_restart;\n' | _pg_psql -tA) != 0 ]]; then
      say postgres "settings changed that need a restart: restarting"
      postgres_stop
      postgres_start
    fi
    return 0
  fi
  [[ $st == stale ]] && { say postgres "removing stale pid file"; rm -f "$(pid_file postgres)"; }
  # A server on our own data directory without our pid file (e.g. started by hand): adopt it.
  if pid=$(_pg_postmaster_pid) && pid_matches "$pid" "$(postgres_cmdline_marks | head -1)"; then
    mkdir -p "$RUN_DIR"
    echo "$pid" >"$(pid_file postgres)"
    say postgres "found a server already running on our data directory (pid $pid); adopted it"
    wait_ready postgres postgres_ready nostop
    return 0
  fi
  require_ports_free postgres "$PG_PORT"
  step postgres "writing config (127.0.0.1:$PG_PORT, socket in $PG_SOCKET_DIR)" _pg_configure
  step postgres "starting with pg_ctl as '$PG_OS_USER' (log: $(log_file postgres))" _pg_start_daemon
  mark_started postgres
  _pg_record_pid || {
    printf '[postgres] FAILED: no postmaster.pid appeared in %s\n' "$PGDATA_DIR" >&2
    tail -n 30 "$(log_file postgres)" | sed 's/^/    /' >&2
    exit 1
  }
  wait_ready postgres postgres_ready
  step postgres "ensuring role $PG_USER and databases ${PG_DATABASES[*]}" _pg_bootstrap_sql
}

# Fast shutdown (SIGINT: disconnect clients, checkpoint), then immediate (SIGQUIT), then KILL.
# SIGTERM would be "smart" shutdown, which waits for every client (service pools) to leave.
postgres_stop() { stop_pid postgres INT QUIT; }

postgres_status() {
  case $(proc_state postgres) in
    running) if postgres_ready; then echo ready; else echo "running (not ready)"; fi ;;
    stale) echo "stale pid" ;;
    *) echo "not running" ;;
  esac
}

postgres_env() {
  cat <<EOF
export DB_HOST=$PG_HOST
export DB_PORT=$PG_PORT
export DB_USER=$PG_USER
export DB_PASSWORD=$PG_PASSWORD
export PGHOST=$PG_HOST
export PGPORT=$PG_PORT
export PGUSER=$PG_USER
export PGPASSWORD=$PG_PASSWORD
export TEST_DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/shoplab_test
EOF
}
