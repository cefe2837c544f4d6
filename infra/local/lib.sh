# shellcheck shell=bash
# Shared helpers for infra/local/*.sh. Sourced by infra.sh; not executable on its own.
#
# Layout (nothing is ever written inside the repository):
#   $SHOPLAB_CACHE  downloads and builds (Kafka jars, the Jaeger binary)
#   $SHOPLAB_STATE  runtime state: data, generated configs,
#                   logs/<component>.log (daemon output), logs/<component>.setup.log (install steps),
#                   run/<component>.pid

SHOPLAB_CACHE=${SHOPLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shoplab}
SHOPLAB_STATE=${SHOPLAB_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/shoplab}
export SHOPLAB_CACHE SHOPLAB_STATE

# infra/ in the repository (committed configs are read from here, never written).
INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_DIR=$SHOPLAB_STATE/logs
RUN_DIR=$SHOPLAB_STATE/run

READY_TIMEOUT=${SHOPLAB_READY_TIMEOUT:-120} # seconds to wait for a component to become ready
STOP_TIMEOUT=${SHOPLAB_STOP_TIMEOUT:-30}    # seconds between the polite signal and SIGKILL

# shellcheck disable=SC2034 # used by infra.sh
ALL_COMPONENTS=(postgres kafka jaeger prometheus)

# ---------------------------------------------------------------- output

_now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "${t#0}"; }

# Elapsed time since a _now_us value, formatted like "4m09s", "41s", "2.3s" or "40ms".
_elapsed() {
  local ms=$((($(_now_us) - $1) / 1000))
  if ((ms >= 60000)); then
    printf '%dm%02ds' $((ms / 60000)) $((ms % 60000 / 1000))
  elif ((ms >= 10000)); then
    printf '%ds' $((ms / 1000))
  elif ((ms >= 1000)); then
    printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
  else
    printf '%dms' "$ms"
  fi
}

# say COMPONENT MESSAGE...
say() {
  local c=$1
  shift
  printf '[%s] %s\n' "$c" "$*"
}

# warn/die print to stderr.
warn() {
  local c=$1
  shift
  printf '[%s] WARNING: %s\n' "$c" "$*" >&2
}

die() {
  local c=$1
  shift
  printf '[%s] ERROR: %s\n' "$c" "$*" >&2
  exit 1
}

# step COMPONENT "description" COMMAND [ARGS...]
# Prints "[c] description ... done in 1.2s". The command runs in a subshell with
# `set -e`; its output goes to $LOG_DIR/<c>.setup.log. A step that runs longer than
# $SHOPLAB_PROGRESS_EVERY seconds (default 15) prints a progress line that often — the
# elapsed time, how many lines the command has logged and its last one — so a long cold build
# is visibly alive. On failure the last 30 lines of that log are shown and the script exits.
step() {
  local c=$1 desc=$2
  shift 2
  local log=$LOG_DIR/$c.setup.log t0 rc beat every=${SHOPLAB_PROGRESS_EVERY:-15}
  mkdir -p "$LOG_DIR"
  printf '[%s] %s ... ' "$c" "$desc"
  t0=$(_now_us)
  printf '\n=== %s %s\n' "$(date '+%F %T')" "$desc" >>"$log"
  _step_progress "$c" "$log" "$t0" "$every" &
  beat=$!
  set +e
  (
    set -euo pipefail
    "$@"
  ) >>"$log" 2>&1 </dev/null
  rc=$?
  kill "$beat" 2>/dev/null
  wait "$beat" 2>/dev/null
  set -e
  if [[ -s $LOG_DIR/.progress.$beat ]]; then printf '\n[%s] %s ... ' "$c" "$desc"; fi
  rm -f "$LOG_DIR/.progress.$beat"
  if ((rc != 0)); then
    printf 'FAILED after %s (exit %d)\n' "$(_elapsed "$t0")" "$rc"
    printf '[%s] last 30 lines of %s:\n' "$c" "$log" >&2
    tail -n 30 "$log" | sed 's/^/    /' >&2
    exit 1
  fi
  printf 'done in %s\n' "$(_elapsed "$t0")"
}

# The heartbeat of a long step (runs in the background until step kills it). It marks that it
# printed in $LOG_DIR/.progress.<its pid>, so step repeats the description before "done in".
_step_progress() {
  local c=$1 log=$2 t0=$3 every=$4 from lines last
  from=$(wc -l <"$log")
  # sleep gets no stdout/stderr: an orphaned sleep must not hold a caller's pipe open.
  while sleep "$every" </dev/null >/dev/null 2>&1; do
    lines=$(($(wc -l <"$log") - from))
    last=$(tail -n +"$((from + 1))" "$log" | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-90 || true)
    printf '\n[%s]   ... still working after %s: %d lines logged%s' "$c" "$(_elapsed "$t0")" "$lines" \
      "${last:+, last: $last}"
    echo 1 >"$LOG_DIR/.progress.$BASHPID"
  done
}

# ---------------------------------------------------------------- processes

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

# Prints the pid recorded for a component (empty when there is no pid file).
read_pid() {
  local f
  f=$(pid_file "$1")
  [[ -r $f ]] || return 0
  local p
  read -r p <"$f" || true
  [[ $p =~ ^[0-9]+$ ]] && echo "$p"
  return 0
}

# True when PID is a live (not zombie) process.
pid_alive() {
  local pid=$1 state
  [[ -n $pid ]] || return 1
  kill -0 "$pid" 2>/dev/null || [[ -d /proc/$pid ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# True when PID is alive and its command line contains every given fragment
# (guards against a recycled pid belonging to someone else).
pid_matches() {
  local pid=$1 cmd frag
  shift
  pid_alive "$pid" || return 1
  cmd=$(pid_cmdline "$pid")
  for frag in "$@"; do
    [[ $cmd == *"$frag"* ]] || return 1
  done
}

# Component process state from its pid file: prints "running", "stale" or "none".
# Uses <component>_cmdline_marks (function printing fragments, one per line) to check identity.
proc_state() {
  local c=$1 pid marks=()
  pid=$(read_pid "$c")
  if [[ -z $pid ]]; then
    [[ -e $(pid_file "$c") ]] && echo stale || echo none
    return 0
  fi
  mapfile -t marks < <("${c}_cmdline_marks")
  if pid_matches "$pid" "${marks[@]}"; then echo running; else echo stale; fi
}

# launch COMPONENT COMMAND [ARGS...]
# Starts a daemon detached (own session, stdin from /dev/null, stdout+stderr appended to
# $LOG_DIR/<c>.log) and records its pid. The process writes its own pid before exec'ing, so
# the pid file always names the daemon itself.
launch() {
  local c=$1
  shift
  local pf log
  pf=$(pid_file "$c")
  log=$(log_file "$c")
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  printf '\n=== %s starting: %s\n' "$(date '+%F %T')" "$*" >>"$log"
  rm -f "$pf"
  # Working directory: $SHOPLAB_STATE (never the caller's directory, which may go away).
  # Every descriptor above stderr is closed first: a daemon must not inherit the caller's locks
  # (`flock file make up` would otherwise stay locked for as long as the service runs).
  # shellcheck disable=SC2016 # $$ and $@ are expanded by the inner bash
  setsid nohup bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && cd "$1" && shift &&
    for fd in /proc/$$/fd/*; do fd=${fd##*/}; if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null; fi; done
    exec "$@"' \
    "$pf" "$SHOPLAB_STATE" "$@" >>"$log" 2>&1 </dev/null 8>&- 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $pf ]] && return 0
    sleep 0.1
  done
  die "$c" "could not launch (no pid file after 5s); see $log"
}

# mark_started COMPONENT: records that this invocation launched COMPONENT (STARTED array and,
# when set, one line in $SHOPLAB_STARTED_FILE), immediately, so a caller can clean up even when a
# later step fails.
STARTED=()
mark_started() {
  STARTED+=("$1")
  if [[ -n ${SHOPLAB_STARTED_FILE:-} ]]; then echo "$1" >>"$SHOPLAB_STARTED_FILE"; fi
}

# log_size FILE: current size in bytes (0 when missing); used to look only at new log lines.
log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# log_since FILE OFFSET: the part of FILE written after OFFSET.
log_since() { tail -c +"$(($2 + 1))" "$1" 2>/dev/null || true; }

# wait_ready COMPONENT CHECK_FUNCTION [nostop]
# Polls CHECK_FUNCTION until it succeeds, the process dies, or $READY_TIMEOUT passes. On failure
# prints the last 30 log lines, stops what was launched (unless "nostop": a process this
# invocation did not start is never stopped) and exits non-zero.
wait_ready() {
  local c=$1 check=$2 nostop=${3:-} t0 pid deadline
  t0=$(_now_us)
  deadline=$((SECONDS + READY_TIMEOUT))
  printf '[%s] waiting until ready (up to %ss) ... ' "$c" "$READY_TIMEOUT"
  while :; do
    if "$check" >/dev/null 2>&1; then
      printf 'ready in %s\n' "$(_elapsed "$t0")"
      return 0
    fi
    pid=$(read_pid "$c")
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      printf 'FAILED: process %s exited after %s\n' "$pid" "$(_elapsed "$t0")"
      _ready_failed "$c" "$nostop"
    fi
    if ((SECONDS >= deadline)); then
      printf 'FAILED: not ready after %ss\n' "$READY_TIMEOUT"
      _ready_failed "$c" "$nostop"
    fi
    sleep 0.5
  done
}

_ready_failed() {
  local c=$1 nostop=${2:-} log
  log=$(log_file "$c")
  printf '[%s] last 30 lines of %s:\n' "$c" "$log" >&2
  tail -n 30 "$log" 2>/dev/null | sed 's/^/    /' >&2
  [[ $nostop == nostop ]] || "${c}_stop" || true
  exit 1
}

# already_running COMPONENT: the "already running" message of `up`; when the running process
# is not ready (yet), waits for it like a fresh start, but never stops it.
already_running() {
  local c=$1
  say "$c" "already running (pid $(read_pid "$c")) on $("${c}_address")"
  "${c}_ready" >/dev/null 2>&1 || wait_ready "$c" "${c}_ready" nostop
}

# stop_pid COMPONENT [SIGNAL] [ESCALATION_SIGNAL]
# Stops the process named by the component's pid file, and only that: SIGNAL (default TERM),
# wait up to $STOP_TIMEOUT s, then ESCALATION_SIGNAL (default KILL). Removes the pid file.
# Never looks processes up by name.
stop_pid() {
  local c=$1 sig=${2:-TERM} sig2=${3:-KILL} pf pid t0 deadline marks=()
  pf=$(pid_file "$c")
  pid=$(read_pid "$c")
  if [[ -z $pid ]]; then
    if [[ -e $pf ]]; then
      say "$c" "removing unreadable pid file $pf"
      rm -f "$pf"
    else
      say "$c" "not running (no pid file)"
    fi
    return 0
  fi
  mapfile -t marks < <("${c}_cmdline_marks")
  if ! pid_matches "$pid" "${marks[@]}"; then
    say "$c" "stale pid file (pid $pid is not our $c process); removing it, signalling nothing"
    rm -f "$pf"
    return 0
  fi
  t0=$(_now_us)
  printf '[%s] stopping pid %s (SIG%s) ... ' "$c" "$pid" "$sig"
  kill -s "$sig" "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if pid_alive "$pid"; then
    printf 'still alive after %ss, sending SIG%s ... ' "$STOP_TIMEOUT" "$sig2"
    kill -s "$sig2" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if pid_alive "$pid" && [[ $sig2 != KILL ]]; then
      printf 'sending SIGKILL ... '
      kill -s KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  if pid_alive "$pid"; then
    printf 'FAILED (pid %s still alive)\n' "$pid"
    return 1
  fi
  rm -f "$pf"
  printf 'stopped in %s\n' "$(_elapsed "$t0")"
}

# ---------------------------------------------------------------- ports

# port_listeners PORT: prints `ss -ltnpH` lines for TCP listeners on PORT (any address).
port_listeners() {
  ss -ltnpH "sport = :$1" 2>/dev/null || true
}

# port_pids PORT: pids of the processes listening on PORT (one per line, may be empty).
port_pids() {
  port_listeners "$1" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true
}

# describe_pid PID: "pid 123 (user alice): /usr/bin/foo --bar"
describe_pid() {
  local pid=$1 user
  user=$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ' || true)
  printf 'pid %s (user %s): %s' "$pid" "${user:-?}" "$(pid_cmdline "$pid" | cut -c1-200)"
}

# describe_port PORT: human description of whoever listens on PORT.
describe_port() {
  local port=$1 pids p out=""
  pids=$(port_pids "$port")
  if [[ -z $pids ]]; then
    # Listening, but ss could not show the process (another user's process when not root).
    out="an unknown process: $(port_listeners "$port" | awk '{print $4}' | paste -sd' ')"
  else
    for p in $pids; do out+="${out:+; }$(describe_pid "$p")"; done
  fi
  echo "$out"
}

# require_ports_free COMPONENT PORT...: dies naming the port and process if one is taken.
# A component may define <component>_port_taken PORT to handle known owners (return 0 when
# it has freed the port).
require_ports_free() {
  local c=$1 port
  shift
  for port in "$@"; do
    [[ -z $(port_listeners "$port") ]] && continue
    if declare -F "${c}_port_taken" >/dev/null && "${c}_port_taken" "$port"; then
      [[ -z $(port_listeners "$port") ]] && continue
    fi
    die "$c" "port $port on this machine is already in use by $(describe_port "$port") — not ours; stop it or free the port, then retry (see: ss -ltnp 'sport = :$port')"
  done
}

# tcp_open HOST PORT: true when a TCP connection succeeds (bash /dev/tcp, 2 s limit).
tcp_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# ---------------------------------------------------------------- misc

need_cmd() {
  local c=$1 cmd=$2 hint=${3:-}
  command -v "$cmd" >/dev/null 2>&1 || die "$c" "'$cmd' not found on PATH${hint:+ ($hint)}"
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# render_template SRC DEST: copies SRC to DEST replacing __SHOPLAB_STATE__, __SHOPLAB_CACHE__ and
# __SHOPLAB_INFRA_DIR__ placeholders; only rewrites DEST when the result changed.
render_template() {
  local src=$1 dest=$2 tmp
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$dest.XXXXXX")
  sed -e "s|__SHOPLAB_STATE__|$SHOPLAB_STATE|g" \
    -e "s|__SHOPLAB_CACHE__|$SHOPLAB_CACHE|g" \
    -e "s|__SHOPLAB_INFRA_DIR__|$INFRA_DIR|g" "$src" >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$dest"
  fi
}

# write_if_changed DEST: stdin → DEST, only when the content differs.
write_if_changed() {
  local dest=$1 tmp
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$dest.XXXXXX")
  cat >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$dest"
  fi
}
