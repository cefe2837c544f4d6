#!/usr/bin/env bash
# ShopLab local infrastructure, natively on 127.0.0.1 (no Docker):
#   PostgreSQL 15 :5432, Kafka 3.9.1 (KRaft) :9092, Jaeger v2 :16686/:4318, Prometheus :9090.
#
# usage: infra/local/infra.sh <command> [component ...]     components: postgres kafka jaeger prometheus (default: all)
#   up       install what is missing (cached afterwards), start what is not running, wait until ready
#   down     stop what infra.sh started (by the pid in its pid file; never by process name)
#   kill     crash it: SIGKILL at once, no graceful shutdown (for fault exercises; `up` recovers)
#   status   one line per component: name, state (ready / not running / stale pid / running (not ready)), address
#            exit status 0 when every listed component is ready, 3 otherwise
#   logs     [-f] [-n LINES] [component ...]   show (or follow) the daemon logs
#   env      print `export` lines with the addresses, e.g.  eval "$(infra/local/infra.sh env)"
#   install  only install/build (no start)
#
# Environment:
#   SHOPLAB_CACHE          downloads and builds   (default ${XDG_CACHE_HOME:-$HOME/.cache}/shoplab)
#   SHOPLAB_STATE          data, configs, logs/, run/ (default ${XDG_STATE_HOME:-$HOME/.local/state}/shoplab)
#   SHOPLAB_STARTED_FILE   `up` writes the components THIS invocation started there, one per line
#                          (the file is truncated first; names are added as soon as each is launched)
#   SHOPLAB_READY_TIMEOUT  seconds to wait for readiness (default 120)
#   SHOPLAB_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL on `down` (default 30)
# `up` ends with a machine-readable line:  SHOPLAB_STARTED=<space-separated components>
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=postgres.sh
source "$HERE/postgres.sh"
# shellcheck source=kafka.sh
source "$HERE/kafka.sh"
# shellcheck source=jaeger.sh
source "$HERE/jaeger.sh"
# shellcheck source=prometheus.sh
source "$HERE/prometheus.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# Sets COMPONENTS from the arguments (default: all), in dependency order.
select_components() {
  local a c known
  COMPONENTS=()
  if (($# == 0)); then
    COMPONENTS=("${ALL_COMPONENTS[@]}")
    return 0
  fi
  for a in "$@"; do
    known=0
    for c in "${ALL_COMPONENTS[@]}"; do [[ $a == "$c" ]] && known=1; done
    ((known)) || { echo "unknown component '$a' (known: ${ALL_COMPONENTS[*]})" >&2; exit 2; }
  done
  for c in "${ALL_COMPONENTS[@]}"; do
    for a in "$@"; do
      if [[ $a == "$c" ]]; then
        COMPONENTS+=("$c")
        break
      fi
    done
  done
}

# Serialise up/down between concurrent invocations (fd 8; closed in every daemon we launch).
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 8>"$RUN_DIR/infra.lock"
  if ! flock -n 8; then
    echo "[infra] another infra.sh up/down is running; waiting for it (up to 15 min) ..."
    flock -w 900 8 || { echo "[infra] ERROR: timed out waiting for $RUN_DIR/infra.lock" >&2; exit 1; }
  fi
}

cmd_install() {
  local c
  for c in "${COMPONENTS[@]}"; do "${c}_install"; done
}

cmd_up() {
  local c t0
  t0=$(_now_us)
  take_lock
  if [[ -n ${SHOPLAB_STARTED_FILE:-} ]]; then
    mkdir -p "$(dirname "$SHOPLAB_STARTED_FILE")"
    : >"$SHOPLAB_STARTED_FILE"
  fi
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  echo "[infra] cache: $SHOPLAB_CACHE   state: $SHOPLAB_STATE"
  cmd_install
  for c in "${COMPONENTS[@]}"; do "${c}_start"; done
  echo "[infra] up: ${COMPONENTS[*]} ready in $(_elapsed "$t0"); started now: ${STARTED[*]:-(none, all were already running)}"
  echo "SHOPLAB_STARTED=${STARTED[*]:-}"
}

cmd_down() {
  local i c rc=0
  take_lock
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    c=${COMPONENTS[i]}
    "${c}_stop" || rc=1
  done
  return "$rc"
}

# SIGKILL through stop_pid: the same pid-file and command-line checks as `down`, no grace period.
cmd_kill() {
  local i c rc=0
  take_lock
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    c=${COMPONENTS[i]}
    stop_pid "$c" KILL KILL || rc=1
  done
  return "$rc"
}

cmd_status() {
  local c st rc=0
  for c in "${COMPONENTS[@]}"; do
    st=$("${c}_status")
    [[ $st == ready ]] || rc=3
    printf '%-11s %-20s %s\n' "$c" "$st" "$("${c}_address")"
  done
  return "$rc"
}

cmd_logs() {
  local follow=0 lines=50 files=() c f
  local args=()
  while (($#)); do
    case $1 in
      -f | --follow) follow=1 ;;
      -n) lines=$2; shift ;;
      -n*) lines=${1#-n} ;;
      *) args+=("$1") ;;
    esac
    shift
  done
  select_components "${args[@]}"
  for c in "${COMPONENTS[@]}"; do
    f=$(log_file "$c")
    if [[ -f $f ]]; then files+=("$f"); else echo "[$c] no log yet ($f)" >&2; fi
  done
  ((${#files[@]})) || return 0
  if ((follow)); then
    exec tail -n "$lines" -F "${files[@]}"
  else
    tail -n "$lines" "${files[@]}"
  fi
}

cmd_env() {
  local c
  for c in "${COMPONENTS[@]}"; do "${c}_env"; done
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    up) select_components "$@"; cmd_up ;;
    down) select_components "$@"; cmd_down ;;
    kill) select_components "$@"; cmd_kill ;;
    status) select_components "$@"; cmd_status ;;
    logs) cmd_logs "$@" ;;
    env) select_components "$@"; cmd_env ;;
    install) select_components "$@"; cmd_install ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
