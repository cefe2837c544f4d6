#!/usr/bin/env bash
# Exercise 8's small discovery topology, next to the running local stack (which uses a static
# registry): the Consul DOUBLE (a test double of Consul's HTTP API, not Consul — ADR 9), two
# extra catalog instances and one extra cart instance, all in REGISTRY_MODE=consul against it,
# on spare ports and the local stack's databases. The cart finds the catalogs only through the
# double; the double health-checks each instance's /readyz every 10 s.
#
# Two more members, named only, never part of the default: catalog-2 and order-2, second
# instances of the shop itself for the scale-out measurement (docs/benchmarks.md#scale-out,
# scripts/scale-out-bench.sh). They run as the shop's own catalog and order do — static registry,
# the shop's topics and consumer groups (Kafka shares the partitions between the two), its
# catalog seed left alone — and share their databases: sagas by lease, the relays under their
# advisory locks. order-2 calls the catalogs 127.0.0.1:9082 and, when it is running, catalog-2.
# A caller reaches them when its STATIC_SERVICES / HTTP_SERVICES lists them.
#
# usage: infra/local/discovery-lab.sh <up|down|kill|status|env> [member ...]
#   members (start order): consul-double catalog-a catalog-b cart-x (the default: these four),
#   catalog-2 order-2
#   up      start what is not running, wait until each answers (/readyz; the double: /v1/status/leader)
#   down    stop them (SIGTERM → graceful shutdown, deregistration; SIGKILL after the timeout)
#   kill    crash it: SIGKILL at once (the pid file's process only)
#   status  one line per member: name, state, address
#   env     the environment a member is started with (secrets masked)
# Ports: consul-double 18500; catalog-a 18182/19182/17182, catalog-b 18282/19282/17282, cart-x
# 18183/19183/17183 (HTTP/gRPC/admin); catalog-2 18382/19382/17382, order-2 18185/19185/17185.
# Pid files and logs are those of infra.sh, named lab-<member>.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=../../scripts/lib/secrets.sh
source "$ROOT/scripts/lib/secrets.sh"

ALL_MEMBERS=(consul-double catalog-a catalog-b cart-x)
SCALE_MEMBERS=(catalog-2 order-2)
CONSUL_PORT=18500
declare -A SERVICE=([catalog-a]=catalog [catalog-b]=catalog [cart-x]=cart [catalog-2]=catalog [order-2]=order)
declare -A HTTP_PORT=([consul-double]=$CONSUL_PORT [catalog-a]=18182 [catalog-b]=18282 [cart-x]=18183
  [catalog-2]=18382 [order-2]=18185)
declare -A GRPC_PORT=([catalog-a]=19182 [catalog-b]=19282 [cart-x]=19183 [catalog-2]=19382 [order-2]=19185)
# Each member's admin listener (ADMIN_PORT, as the shop's own services have: its admin routes
# there, 404 on its HTTP port; under the double it is registered as the instance's admin_port).
declare -A ADMIN_PORT=([catalog-a]=17182 [catalog-b]=17282 [cart-x]=17183 [catalog-2]=17382 [order-2]=17185)
SECRETS=$SHOPLAB_STATE/secrets.env

# The environment of one service member. Its order-events consumer reads a topic of its own
# (nothing is published there), so the lab never takes order events from the real catalog and
# cart; everything else — databases, Kafka, Jaeger — is the local stack's.
member_env() {
  local m=$1 s=${SERVICE[$1]}
  [[ -s $SECRETS ]] || die lab "no $SECRETS: start the local stack first (make up)"
  # shellcheck disable=SC1090
  source "$SECRETS"
  echo "SERVICE_NAME=$s"
  echo "INSTANCE_ID=$s-lab-${m#*-}"
  echo "HTTP_PORT=${HTTP_PORT[$m]}"
  echo "GRPC_PORT=${GRPC_PORT[$m]}"
  echo "ADMIN_PORT=${ADMIN_PORT[$m]}"
  if [[ $m == *-2 ]]; then
    scale_member_env "$m"
    return
  fi
  echo "REGISTRY_MODE=consul"
  echo "CONSUL_URL=http://127.0.0.1:$CONSUL_PORT"
  echo "ADMIN_TOKEN=$ADMIN_TOKEN"
  stack_env "$s"
  echo "ORDER_EVENTS_TOPIC=lab.discovery.unused"
  echo "ORDER_EVENTS_GROUP=$s-lab-discovery"
  if [[ $s == catalog ]]; then echo "SEED_CATALOG=false"; fi
}

# What every member takes from the local stack: its service's keys, and where the stack is.
stack_env() {
  shoplab_key_env "$SHOPLAB_STATE/keys" "$1"
  echo "NODE_ENV=development"
  echo "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"
  echo "KAFKA_BROKERS=127.0.0.1:9092"
  echo "DB_HOST=127.0.0.1"
  echo "DB_PORT=5432"
}

# A second instance of the shop's own service (catalog-2, order-2): what infra/local/services.sh
# gives the first one, nothing of the lab's own.
scale_member_env() {
  local m=$1 s=${SERVICE[$1]} catalogs=127.0.0.1:9082
  echo "ADMIN_TOKEN=$ADMIN_TOKEN"
  echo "CARD_ENCRYPTION_KEY=$CARD_ENCRYPTION_KEY"
  stack_env "$s"
  if [[ $s == catalog ]]; then printf '%s\n' SEED_CATALOG=false ACCESS_LOG=all; fi
  if [[ $s == order ]]; then
    [[ $(proc_state lab-catalog-2) == running ]] && catalogs+=",catalog=127.0.0.1:${GRPC_PORT[catalog-2]}"
    echo "STATIC_SERVICES=cart=127.0.0.1:9083,catalog=$catalogs,user=127.0.0.1:9081,payment=127.0.0.1:9084"
  fi
}

member_ready() {
  if [[ $1 == consul-double ]]; then
    curl -fsS -m 2 "http://127.0.0.1:$CONSUL_PORT/v1/status/leader" >/dev/null
  else
    curl -fsS -m 2 "http://127.0.0.1:${HTTP_PORT[$1]}/readyz" >/dev/null
  fi
}
member_address() {
  local m=$1
  echo "http://127.0.0.1:${HTTP_PORT[$m]}${GRPC_PORT[$m]:+ (gRPC 127.0.0.1:${GRPC_PORT[$m]})}${ADMIN_PORT[$m]:+ (admin 127.0.0.1:${ADMIN_PORT[$m]})}"
}

# lib.sh identifies a process by fragments of its command line.
lab-consul-double_cmdline_marks() { printf '%s\n' node 'testing/consul-double-main.js'; }
for m in catalog-a catalog-b cart-x "${SCALE_MEMBERS[@]}"; do
  eval "lab-${m}_cmdline_marks() { printf '%s\n' node 'services/${SERVICE[$m]}/dist/src/main.js'; }"
done
for m in "${ALL_MEMBERS[@]}" "${SCALE_MEMBERS[@]}"; do
  eval "lab-${m}_stop() { stop_pid lab-$m TERM KILL; }"
  eval "lab-${m}_ready() { member_ready $m; }"
  eval "lab-${m}_address() { member_address $m; }"
done

start_member() {
  local m=$1 c=lab-$1 env_args=() main
  case $(proc_state "$c") in
    running)
      already_running "$c"
      return 0
      ;;
    stale) rm -f "$(pid_file "$c")" ;;
  esac
  require_ports_free "$c" "${HTTP_PORT[$m]}" ${GRPC_PORT[$m]:+"${GRPC_PORT[$m]}"} ${ADMIN_PORT[$m]:+"${ADMIN_PORT[$m]}"}
  if [[ $m == consul-double ]]; then
    main=$ROOT/packages/chassis/dist/src/testing/consul-double-main.js
    [[ -f $main ]] || die "$c" "not built: run 'make build' first ($main missing)"
    launch "$c" node "$main" --port "$CONSUL_PORT"
  else
    main=$ROOT/services/${SERVICE[$m]}/dist/src/main.js
    [[ -f $main ]] || die "$c" "not built: run 'make build' first ($main missing)"
    mapfile -t env_args < <(member_env "$m")
    launch "$c" env "${env_args[@]}" node --enable-source-maps \
      --require "$ROOT/packages/chassis/dist/src/telemetry.js" "$main"
  fi
  mark_started "$c"
  wait_ready "$c" "${c}_ready"
}

select_members() {
  MEMBERS=()
  if (($# == 0)); then
    MEMBERS=("${ALL_MEMBERS[@]}")
    return
  fi
  local a m
  for a in "$@"; do
    [[ -v "HTTP_PORT[$a]" ]] || die lab "unknown member '$a' (known: ${ALL_MEMBERS[*]} ${SCALE_MEMBERS[*]})"
  done
  for m in "${ALL_MEMBERS[@]}" "${SCALE_MEMBERS[@]}"; do
    for a in "$@"; do if [[ $a == "$m" ]]; then MEMBERS+=("$m"); fi; done
  done
}

main() {
  local cmd=${1:-} m i rc=0 t0
  (($#)) && shift
  select_members "$@"
  case $cmd in
    up)
      t0=$(_now_us)
      for m in "${MEMBERS[@]}"; do start_member "$m"; done
      echo "[lab] up: ${MEMBERS[*]} ready in $(_elapsed "$t0"); started now: ${STARTED[*]:-(none)}"
      ;;
    down)
      # Services first, so they deregister from the double while it still answers.
      for ((i = ${#MEMBERS[@]} - 1; i >= 0; i--)); do "lab-${MEMBERS[i]}_stop" || rc=1; done
      return "$rc"
      ;;
    kill)
      for ((i = ${#MEMBERS[@]} - 1; i >= 0; i--)); do stop_pid "lab-${MEMBERS[i]}" KILL KILL || rc=1; done
      return "$rc"
      ;;
    status)
      for m in "${MEMBERS[@]}"; do
        local st
        case $(proc_state "lab-$m") in
          running) if member_ready "$m" 2>/dev/null; then st=ready; else st="running (not ready)"; fi ;;
          stale) st="stale pid" ;;
          *) st="not running" ;;
        esac
        [[ $st == ready ]] || rc=3
        printf '%-14s %-20s %s\n' "$m" "$st" "$(member_address "$m")"
      done
      return "$rc"
      ;;
    env)
      for m in "${MEMBERS[@]}"; do
        [[ $m == consul-double ]] && continue
        echo "# $m"
        member_env "$m" | sed -E 's/^(ADMIN_TOKEN|CARD_ENCRYPTION_KEY|SERVICE_PRIVATE_KEY|JWT_PRIVATE_KEY)=.*/\1=****/'
      done
      ;;
    *)
      sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
}

main "$@"
