#!/usr/bin/env bash
# A CPU profile of one service under load: starts a SECOND instance of the service (same build,
# same database and Kafka, its ports + 20000) with node --cpu-prof, runs the load command given
# after `--` (with PROFILED_URL=http://127.0.0.1:<its HTTP port> in its environment, to aim at
# it), stops the instance (the profile is written as it exits), and prints the summary (shopctl
# profile). The second instance is a real one while it runs: it registers in discovery (callers
# may send it some of their traffic), joins its service's consumer groups (a rebalance) and runs
# an outbox relay (on standby behind the first one's lock); all of it ends when it stops.
# With --in-place, the shop's own instance is restarted with --cpu-prof instead (for what a
# second instance would not get: the checkout's saga runs where the checkout was accepted), and
# restarted without it afterwards.
#
# Usage: scripts/profile.sh [--in-place] SERVICE -- COMMAND [ARGS...]
#   scripts/profile.sh catalog -- npx shopctl hammer '$PROFILED_URL/v1/products?limit=20' --duration 20s
#   scripts/profile.sh --in-place order -- bash scripts/bench.sh --smoke --rates 20 --step 20s
# (the single quotes keep $PROFILED_URL for the command's own shell: it is expanded there).
# Profiles are kept in $SHOPLAB_STATE/profiles/ (open one in Chrome DevTools' Performance tab).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHOPLAB_STATE=${SHOPLAB_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/shoplab}
SECRETS=$SHOPLAB_STATE/secrets.env
say() { printf '[profile] %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

in_place=false
[[ ${1:-} == --in-place ]] && { in_place=true; shift; }
(($# >= 3)) && [[ $2 == -- ]] || die "usage: scripts/profile.sh [--in-place] SERVICE -- COMMAND [ARGS...]"
service=$1
shift 2
declare -A HTTP=([gateway]=8080 [user]=8081 [catalog]=8082 [cart]=8083 [payment]=8084 [order]=8085 [history]=8086)
declare -A GRPC=([user]=9081 [catalog]=9082 [cart]=9083 [payment]=9084 [order]=9085)
[[ -v "HTTP[$service]" ]] || die "unknown service '$service' (${!HTTP[*]})"
[[ -f services/$service/dist/src/main.js ]] || die "services/$service is not built (make build)"
[[ -s $SECRETS ]] || die "no $SECRETS: start the stack first (make up)"
# shellcheck disable=SC1090
source "$SECRETS"

dir=$SHOPLAB_STATE/profiles/$service-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dir"

if $in_place; then
  restore() { bash infra/local/services.sh up "$service" >&2 || say "could not start $service again: bash infra/local/services.sh up $service"; }
  say "restarting the shop's $service with --cpu-prof"
  bash infra/local/services.sh down "$service" >&2
  trap restore EXIT
  started_ns=$(date +%s%N)
  SHOPLAB_NODE_FLAGS="--cpu-prof --cpu-prof-dir=$dir" bash infra/local/services.sh up "$service" >&2
  ready_ms=$((($(date +%s%N) - started_ns) / 1000000))
  say "ready after $ready_ms ms (left out of the summary); running: $*"
  PROFILED_URL=http://127.0.0.1:${HTTP[$service]} bash -c "$*" || say "the load command exited with $?"
  bash infra/local/services.sh down "$service" >&2
  restore
  trap - EXIT
  profile=$(find "$dir" -name '*.cpuprofile' | head -n 1)
  [[ -n $profile ]] || die "no profile was written in $dir"
  say "profile: $profile"
  exec node packages/shopctl/dist/src/cli.js profile "$profile" --from "$ready_ms"
fi

http_port=$((HTTP[$service] + 20000))
grpc_env=()
[[ -v "GRPC[$service]" ]] && grpc_env=("GRPC_PORT=$((GRPC[$service] + 20000))")
log=$dir/instance.log
# The local stack's keys (infra/local/services.sh made them): the instance is one of the service's own.
# shellcheck source=lib/secrets.sh
source "$ROOT/scripts/lib/secrets.sh"
mapfile -t keys < <(shoplab_key_env "$SHOPLAB_STATE/keys" "$service")
# The heap and malloc settings every service process runs with: the profile's GC share is theirs.
# shellcheck source=lib/node-memory.sh
source "$ROOT/scripts/lib/node-memory.sh"
mapfile -t memory < <(shoplab_node_memory_env)

say "starting a second $service on :$http_port with --cpu-prof (log: $log)"
env SERVICE_NAME="$service" INSTANCE_ID="$service-profiled" HTTP_PORT="$http_port" "${grpc_env[@]}" \
  ADMIN_TOKEN="$ADMIN_TOKEN" "${keys[@]}" "${memory[@]}" CARD_ENCRYPTION_KEY="$CARD_ENCRYPTION_KEY" \
  NODE_ENV=development OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 KAFKA_BROKERS=127.0.0.1:9092 \
  DB_HOST=127.0.0.1 DB_PORT=5432 \
  node --cpu-prof --cpu-prof-dir="$dir" --enable-source-maps \
  --require "$ROOT/packages/chassis/dist/src/telemetry.js" "services/$service/dist/src/main.js" >"$log" 2>&1 &
pid=$!
started_ns=$(date +%s%N)
stop_instance() {
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  say "the instance did not stop in 30 s; killing it (no profile)"
  kill -KILL "$pid" 2>/dev/null || true
}
trap stop_instance EXIT
for _ in $(seq 120); do
  curl -fsS -m 2 "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || die "the instance exited; see $log"
  sleep 0.5
done
curl -fsS -m 2 "http://127.0.0.1:$http_port/readyz" >/dev/null || die "the instance did not get ready; see $log"

ready_ms=$((($(date +%s%N) - started_ns) / 1000000))
say "ready after $ready_ms ms (left out of the summary); running: $*"
PROFILED_URL=http://127.0.0.1:$http_port bash -c "$*" || say "the load command exited with $?"
stop_instance
trap - EXIT
profile=$(find "$dir" -name '*.cpuprofile' | head -n 1)
[[ -n $profile ]] || die "no profile was written in $dir"
say "profile: $profile"
node packages/shopctl/dist/src/cli.js profile "$profile" --from "$ready_ms"
