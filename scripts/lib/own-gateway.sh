# shellcheck shell=bash
# A gateway process of a tool's own (the fuzz, the bench): the same build as the shop's gateway,
# on its own port, talking to the same running services, with the public API's rate limit
# raised for that process alone — the limit is a policy for the shop's clients, and a tool that
# sends thousands of requests would otherwise measure (or fuzz) only the limiter. The shop's
# gateway on :8080 is untouched.
#
# Usage (after `source`, with ROOT, SHOPLAB_STATE and ADMIN_TOKEN set; the gateway's keys are the
# local stack's, $SHOPLAB_STATE/keys):
#   own_gateway_start PORT NAME    starts it (log: $SHOPLAB_STATE/logs/gateway-NAME.log), waits
#                                  until /readyz answers; sets OWN_GATEWAY_PID and OWN_GATEWAY_URL
#   own_gateway_stop               SIGTERM, then SIGKILL after 10 s (safe to call twice, or from a trap)

OWN_GATEWAY_PID=""
OWN_GATEWAY_URL=""

own_gateway_start() {
  local port=$1 name=$2 log
  [[ -f $ROOT/services/gateway/dist/src/main.js ]] || {
    echo "the gateway is not built (make build)" >&2
    return 1
  }
  if curl -fsS -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
    echo "port $port is taken" >&2
    return 1
  fi
  mkdir -p "$SHOPLAB_STATE/logs"
  log=$SHOPLAB_STATE/logs/gateway-$name.log
  echo "starting a gateway of its own on :$port, rate limits raised for it alone (log: $log)" >&2
  # shellcheck source=secrets.sh
  source "$ROOT/scripts/lib/secrets.sh"
  # shellcheck source=node-memory.sh
  source "$ROOT/scripts/lib/node-memory.sh"
  # shellcheck source=admin-ports.sh
  source "$ROOT/scripts/lib/admin-ports.sh"
  local keys=()
  mapfile -t keys < <(shoplab_key_env "$SHOPLAB_STATE/keys" gateway)
  # The heap and malloc settings of the shop's own gateway (ADR 49): P6 counts this one under load.
  local memory=()
  mapfile -t memory < <(shoplab_node_memory_env)
  # Its own admin routes stay on its one port (no ADMIN_PORT: the tool's); the services' admin
  # listeners are where it forwards chaos and reads the audit (ADMIN_SERVICES, unless the caller
  # names them: scripts/scale-out-bench.sh's second instances).
  env SERVICE_NAME=gateway HTTP_PORT="$port" ADMIN_TOKEN="$ADMIN_TOKEN" "${keys[@]}" "${memory[@]}" \
    ADMIN_SERVICES="${ADMIN_SERVICES:-$(shoplab_admin_services)}" \
    NODE_ENV=development OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \
    RATE_LIMIT_PER_MINUTE=1000000 RATE_LIMIT_EXEMPT_ADDRESSES=127.0.0.1,::1,::ffff:127.0.0.1 \
    node --enable-source-maps --require "$ROOT/packages/chassis/dist/src/telemetry.js" \
    "$ROOT/services/gateway/dist/src/main.js" >"$log" 2>&1 &
  OWN_GATEWAY_PID=$!
  OWN_GATEWAY_URL=http://127.0.0.1:$port
  for _ in $(seq 120); do
    curl -fsS -m 2 "$OWN_GATEWAY_URL/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$OWN_GATEWAY_PID" 2>/dev/null || {
      echo "the $name gateway exited; see $log" >&2
      return 1
    }
    sleep 0.5
  done
  echo "the $name gateway did not get ready; see $log" >&2
  return 1
}

own_gateway_stop() {
  local pid=$OWN_GATEWAY_PID
  OWN_GATEWAY_PID=""
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}
