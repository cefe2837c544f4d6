#!/usr/bin/env bash
# ShopLab's own services as local processes on 127.0.0.1 (after infra.sh has started the
# infrastructure). Same conventions as infra.sh: pid files, logs, readiness waits, stop by pid.
#
# usage: infra/local/services.sh <up|down|kill|status|logs|env> [service ...]
#   services (start order): user catalog card-network card-network-ambassador payment cart order
#   history legacy-shipping shipping gateway web (the ambassador is HAProxy: infra/local/haproxy.sh)
#   (default: all)
#   up      apply pending Prisma migrations (in parallel), start what is not running, wait for /readyz
#   down    stop what services.sh started (SIGTERM → graceful shutdown; SIGKILL after the timeout)
#   kill    crash it: SIGKILL at once, no graceful shutdown (the pid file's process only)
#   status  one line per service: name, state, address
#   env     the environment a service is started with (secrets masked)
# Environment: SHOPLAB_STARTED_FILE (as for infra.sh), SHOPLAB_READY_TIMEOUT, SHOPLAB_NODE_FLAGS
# (extra node flags for what `up` starts, e.g. --cpu-prof: scripts/profile.sh --in-place),
# SHOPLAB_SIDECAR=on (off by default): the catalog's TLS sidecar (infra/local/nginx.sh) starts
# after the catalog, the catalog leaves its access log to it, and gateway, cart and order call
# the catalog through it over TLS (docs/patterns/sidecar.md).
# Secrets for the local stack (ADMIN_TOKEN, CARD_ENCRYPTION_KEY) are generated once into
# $SHOPLAB_STATE/secrets.env (mode 600); the Ed25519 keys (user tokens, and each service's gRPC
# credential: docs/architecture.md#trust-boundaries) into $SHOPLAB_STATE/keys/ (scripts/lib/secrets.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=../../scripts/lib/secrets.sh
source "$ROOT/scripts/lib/secrets.sh"
# shellcheck source=../../scripts/lib/node-memory.sh
source "$ROOT/scripts/lib/node-memory.sh"
# shellcheck source=../../scripts/lib/admin-ports.sh
source "$ROOT/scripts/lib/admin-ports.sh"

ALL_SERVICES=(user catalog card-network card-network-ambassador payment cart order history legacy-shipping shipping gateway web)
declare -A HTTP_PORT=([gateway]=8080 [user]=8081 [catalog]=8082 [cart]=8083 [payment]=8084 [order]=8085 [history]=8086 [shipping]=8087 [web]=8088 [legacy-shipping]=8089 [card-network]=8090 [card-network-ambassador]=18091)
# The admin listeners (ADMIN_PORT: the /admin/…, /v1/admin/… and /api/v1/admin/… routes, 404 on
# the HTTP port; docs/architecture.md#trust-boundaries): every service but the web, on 127.0.0.1
# (scripts/lib/admin-ports.sh: 7080 gateway, 7081 user … 7090 card-network).
declare -n ADMIN_PORT=SHOPLAB_ADMIN_PORT
declare -A GRPC_PORT=([user]=9081 [catalog]=9082 [cart]=9083 [payment]=9084 [order]=9085 [shipping]=9087)
SECRETS=$SHOPLAB_STATE/secrets.env
KEYS=$SHOPLAB_STATE/keys

ensure_secrets() {
  [[ -s $SECRETS ]] && return 0
  mkdir -p "$SHOPLAB_STATE"
  (
    umask 077
    {
      echo "ADMIN_TOKEN=$(openssl rand -hex 24)"
      echo "CARD_ENCRYPTION_KEY=$(openssl rand -base64 32)"
    } >"$SECRETS"
  )
  say services "generated local secrets in $SECRETS"
}

ensure_keys() {
  [[ -s $KEYS/user-token.pub ]] || say services "generating the Ed25519 keys in $KEYS"
  shoplab_ensure_keys "$KEYS"
}

# The environment of one service (beyond its defaults): secrets, OTLP endpoint, addresses, and
# the local run mode's own settings.
service_env() {
  local s=$1
  # shellcheck disable=SC1090
  source "$SECRETS"
  echo "SERVICE_NAME=$s"
  if [[ -v "ADMIN_PORT[$s]" ]]; then echo "ADMIN_PORT=${ADMIN_PORT[$s]}"; fi
  echo "ADMIN_TOKEN=$ADMIN_TOKEN"
  echo "CARD_ENCRYPTION_KEY=$CARD_ENCRYPTION_KEY"
  shoplab_key_env "$KEYS" "$s"
  echo "NODE_ENV=development"
  # Heap and malloc settings, as in the images (ADR 49).
  shoplab_node_memory_env
  echo "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"
  echo "KAFKA_BROKERS=127.0.0.1:9092"
  echo "DB_HOST=127.0.0.1"
  echo "DB_PORT=5432"
  # Development figures (services/user/README.md): a lower scrypt cost than production's 2^17,
  # so the many shoppers tests and exercises register stay quick.
  if [[ $s == user ]]; then printf '%s\n' PASSWORD_SCRYPT_N=16384 PASSWORD_HASH_CONCURRENCY=4; fi
  # Every shopper of the tests, exercises and benchmarks comes from 127.0.0.1: the per-address
  # budgets would make them one client. The allowance is configured here, not in the gateway;
  # each user's own budget still applies (docs/architecture.md#trust-boundaries).
  if [[ $s == gateway ]]; then echo "RATE_LIMIT_EXEMPT_ADDRESSES=127.0.0.1,::1,::ffff:127.0.0.1"; fi
  # The gateway forwards chaos and reads the audit on its downstreams' admin listeners.
  if [[ $s == gateway ]]; then echo "ADMIN_SERVICES=$(shoplab_admin_services)"; fi
  # The control room calls the gateway's admin API (and proxies the browser's) on its admin listener.
  if [[ $s == web ]]; then echo "GATEWAY_ADMIN_URL=http://127.0.0.1:${ADMIN_PORT[gateway]}"; fi
  sidecar_env "$s"
  # Payment's authorizations go to the card network through its ambassador (ADR 36).
  if [[ $s == payment ]]; then echo "CARD_NETWORK_MODE=ambassador"; fi
}

sidecar_on() { [[ ${SHOPLAB_SIDECAR:-off} == on ]]; }

# The catalog's sidecar: with it, the catalog writes no access log of its own and its callers
# dial the sidecar over TLS; without it, the catalog logs every request and gRPC call itself.
sidecar_env() {
  case $1 in
    catalog) if sidecar_on; then echo "ACCESS_LOG=off"; else echo "ACCESS_LOG=all"; fi ;;
    gateway | cart | order) if sidecar_on; then bash "$HERE/nginx.sh" env; fi ;;
  esac
}

service_dir() { echo "$ROOT/services/$1"; }
service_ready() { curl -fsS -m 2 "http://127.0.0.1:${HTTP_PORT[$1]}/readyz" >/dev/null; }
service_address() { echo "http://127.0.0.1:${HTTP_PORT[$1]}${GRPC_PORT[$1]:+ (gRPC 127.0.0.1:${GRPC_PORT[$1]})}${ADMIN_PORT[$1]:+ (admin 127.0.0.1:${ADMIN_PORT[$1]})}"; }

# lib.sh identifies a process by fragments of its command line.
for s in "${ALL_SERVICES[@]}"; do
  [[ $s == card-network-ambassador ]] && continue
  eval "${s}_cmdline_marks() { printf '%s\n' 'node' 'services/$s/dist/src/main.js'; }"
  eval "${s}_stop() { stop_pid $s TERM KILL; }"
  eval "${s}_ready() { service_ready $s; }"
  eval "${s}_address() { service_address $s; }"
done
# The ambassador's own functions (HAProxy: its marks, readiness, address, start and stop).
# shellcheck source=haproxy.sh
source "$HERE/haproxy.sh"

# True when the service has migrations not yet recorded as finished in its database's
# _prisma_migrations (checked with psql: `prisma migrate deploy` costs ~10 s with the Wasm
# engine even when there is nothing to do).
has_pending_migrations() {
  local s=$1 dir m
  dir=$(service_dir "$s")
  [[ -d $dir/prisma/migrations ]] || return 1
  for m in "$dir"/prisma/migrations/*/; do
    m=$(basename "$m")
    if [[ $(PGPASSWORD=shoplab psql -h 127.0.0.1 -U shoplab -d "shoplab_$s" -Atqc \
      "select count(*) from _prisma_migrations where migration_name = '$m' and finished_at is not null" 2>/dev/null || echo 0) != 1 ]]; then
      return 0
    fi
  done
  return 1
}

# `prisma migrate deploy` for several services at once (each its own database and process),
# so a fresh state pays for the slowest one, not for their sum. Each one's output is kept in
# $LOG_DIR/<service>.migrate.log; a failure prints it and fails the step.
migrate_in_parallel() {
  local s rc=0
  declare -A pids=()
  for s in "$@"; do
    env DB_NAME="shoplab_$s" PRISMA_DIR="services/$s" bash "$ROOT/scripts/prisma.sh" migrate deploy \
      >"$LOG_DIR/$s.migrate.log" 2>&1 &
    pids[$s]=$!
  done
  for s in "$@"; do
    if wait "${pids[$s]}"; then
      echo "$s: migrated (log $LOG_DIR/$s.migrate.log)"
    else
      echo "$s: prisma migrate deploy failed:"
      cat "$LOG_DIR/$s.migrate.log"
      rc=1
    fi
  done
  return "$rc"
}

# Applies the pending migrations of the given services (in parallel).
migrate() {
  local s pending=()
  for s in "$@"; do if has_pending_migrations "$s"; then pending+=("$s"); fi; done
  ((${#pending[@]})) || return 0
  mkdir -p "$LOG_DIR"
  step services "applying Prisma migrations (${pending[*]}; in parallel)" migrate_in_parallel "${pending[@]}"
}

start_service() {
  local s=$1 dir env_args=()
  if [[ $s == card-network-ambassador ]]; then
    card-network-ambassador_start
    return 0
  fi
  dir=$(service_dir "$s")
  [[ -f $dir/dist/src/main.js ]] || die "$s" "not built: run 'make build' first ($dir/dist/src/main.js missing)"
  case $(proc_state "$s") in
    running)
      already_running "$s"
      return 0
      ;;
    stale) rm -f "$(pid_file "$s")" ;;
  esac
  require_ports_free "$s" "${HTTP_PORT[$s]}" ${GRPC_PORT[$s]:+"${GRPC_PORT[$s]}"} ${ADMIN_PORT[$s]:+"${ADMIN_PORT[$s]}"}
  mapfile -t env_args < <(service_env "$s")
  local node_flags=()
  # shellcheck disable=SC2206 # split on purpose: several flags in one variable
  [[ -n ${SHOPLAB_NODE_FLAGS:-} ]] && node_flags=($SHOPLAB_NODE_FLAGS)
  launch "$s" env "${env_args[@]}" node --enable-source-maps "${node_flags[@]}" \
    --require "$ROOT/packages/chassis/dist/src/telemetry.js" "$dir/dist/src/main.js"
  mark_started "$s"
  wait_ready "$s" "${s}_ready"
}

# Prometheus discovers the services through this file_sd target file.
write_prometheus_targets() {
  local dir=$SHOPLAB_STATE/prometheus/targets s sep="" out="["
  mkdir -p "$dir"
  for s in "${ALL_SERVICES[@]}"; do
    out+="$sep{\"targets\":[\"127.0.0.1:${HTTP_PORT[$s]}\"],\"labels\":{\"service\":\"$s\"}}"
    sep=","
  done
  printf "%s]\n" "$out" | write_if_changed "$dir/shoplab-services.json"
}

select_services() {
  SERVICES=()
  if (($# == 0)); then
    SERVICES=("${ALL_SERVICES[@]}")
    return
  fi
  local a s
  for a in "$@"; do
    [[ -v "HTTP_PORT[$a]" ]] || die services "unknown service '$a' (known: ${ALL_SERVICES[*]})"
  done
  for s in "${ALL_SERVICES[@]}"; do
    for a in "$@"; do if [[ $a == "$s" ]]; then SERVICES+=("$s"); fi; done
  done
}

main() {
  local cmd=${1:-} s i rc=0 t0
  (($#)) && shift
  select_services "$@"
  case $cmd in
    up)
      t0=$(_now_us)
      if [[ -n ${SHOPLAB_STARTED_FILE:-} ]]; then : >"$SHOPLAB_STARTED_FILE"; fi
      ensure_secrets
      ensure_keys
      write_prometheus_targets
      # Migrations first, all at once, for the services that are not running yet.
      local to_migrate=()
      for s in "${SERVICES[@]}"; do [[ $(proc_state "$s") == running ]] || to_migrate+=("$s"); done
      ((${#to_migrate[@]} == 0)) || migrate "${to_migrate[@]}"
      for s in "${SERVICES[@]}"; do
        start_service "$s"
        if [[ $s == catalog ]] && sidecar_on; then bash "$HERE/nginx.sh" up; fi
      done
      echo "[services] up: ${SERVICES[*]} ready in $(_elapsed "$t0"); started now: ${STARTED[*]:-(none)}"
      ;;
    down)
      for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        "${SERVICES[i]}_stop" || rc=1
        # The catalog's sidecar stops with the whole shop (`make down`); a restart of the catalog
        # alone leaves it running, as a pod's other container stays when one restarts.
        if [[ ${SERVICES[i]} == catalog && ${#SERVICES[@]} == "${#ALL_SERVICES[@]}" && -e $RUN_DIR/catalog-sidecar.pid ]]; then
          bash "$HERE/nginx.sh" down || rc=1
        fi
      done
      return "$rc"
      ;;
    kill)
      # stop_pid still checks the command line (never a recycled pid) and removes the pid file.
      for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_pid "${SERVICES[i]}" KILL KILL || rc=1; done
      return "$rc"
      ;;
    status)
      for s in "${SERVICES[@]}"; do
        local st
        case $(proc_state "$s") in
          running) if "${s}_ready" 2>/dev/null; then st=ready; else st="running (not ready)"; fi ;;
          stale) st="stale pid" ;;
          *) st="not running" ;;
        esac
        [[ $st == ready ]] || rc=3
        printf '%-15s %-20s %s\n' "$s" "$st" "$("${s}_address")"
      done
      return "$rc"
      ;;
    logs) for s in "${SERVICES[@]}"; do tail -n 50 "$(log_file "$s")" 2>/dev/null || true; done ;;
    env)
      ensure_secrets
      ensure_keys
      for s in "${SERVICES[@]}"; do echo "# $s"; service_env "$s" | sed -E 's/^(ADMIN_TOKEN|CARD_ENCRYPTION_KEY|SERVICE_PRIVATE_KEY|JWT_PRIVATE_KEY)=.*/\1=****/'; done
      ;;
    *)
      sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
}

main "$@"
