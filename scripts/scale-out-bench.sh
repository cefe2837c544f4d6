#!/usr/bin/env bash
# Scale-out, measured (docs/benchmarks.md#scale-out): the bench's P3 checkout steps against one
# instance of order and of catalog, then against two (the second ones started by
# infra/local/discovery-lab.sh as catalog-2 and order-2, on the shop's databases and topics),
# alternated round after round on the same machine in the same minutes, with the CPU each side's
# order and catalog processes used over every step (utime + stime from /proc/<pid>/stat) and the
# machine's own (/proc/stat).
#
#   scripts/scale-out-bench.sh [--rounds 2] [--rates 2,4,6,8] [--step 20s] [--out DIR]
#
# Each run is `scripts/bench.sh --smoke --json` (its short P1/P2/P6, then P3 at --rates, until a
# rate is not sustained). With two instances, the bench's own gateway lists both orders and both
# catalogs (STATIC_SERVICES / HTTP_SERVICES: round robin over them) and order-2 calls both
# catalogs; the shop's own order, cart and gateway keep their single addresses. The extra
# instances are stopped at the end, whatever happens. Results: one line per step on stdout, the
# raw files in --out (default: a temporary folder, kept).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHOPLAB_STATE=${SHOPLAB_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/shoplab}
RUN=$SHOPLAB_STATE/run
LAB=(bash infra/local/discovery-lab.sh)

rounds=2 rates=2,4,6,8 step=20s out=""
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --rates) rates=$2; shift ;;
    --step) step=$2; shift ;;
    --out) out=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale-out-bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n $out ]] || out=$(mktemp -d "${TMPDIR:-/tmp}/scale-out.XXXXXX")
mkdir -p "$out"
say() { printf '[scale-out] %s\n' "$*" >&2; }

stop_extra() { "${LAB[@]}" down order-2 catalog-2 >/dev/null 2>&1 || true; }
sampler=""
cleanup() {
  [[ -n $sampler ]] && kill "$sampler" 2>/dev/null
  stop_extra
}
trap cleanup EXIT

pid_of() { [[ -s $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null && cat "$RUN/$1.pid"; }
# utime + stime (clock ticks) of the given pids; a pid that is gone counts 0.
ticks() {
  local sum=0 pid f
  for pid in "$@"; do
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    f=${f##*) } # the fields after the command name
    read -r -a a <<<"$f"
    sum=$((sum + a[11] + a[12]))
  done
  echo "$sum"
}
pids_of() { local m; for m in "$@"; do pid_of "$m" || true; done | xargs; }
# Every second: time (ms), order's ticks, catalog's ticks, the machine's busy and total ticks, and
# the pids (read again each time: a service restarted mid-step makes that step's CPU void).
sample() {
  local orders catalogs busy total
  while :; do
    orders=$(pids_of $1) catalogs=$(pids_of $2)
    read -r _ u n s i w q sq st _ </proc/stat
    busy=$((u + n + s + q + sq + st)) total=$((u + n + s + i + w + q + sq + st))
    # shellcheck disable=SC2086 # lists of pids
    echo "$(($(date +%s%N) / 1000000)) $(ticks $orders) $(ticks $catalogs) $busy $total ${orders// /,}/${catalogs// /,}"
    sleep 1
  done
}
all_ready() { bash infra/local/services.sh status >/dev/null 2>&1; }

run_one() {
  local mode=$1 round=$2 tag=$1-$2 orders catalogs gw_env=() attempt ok
  if [[ $mode == two ]]; then
    "${LAB[@]}" up catalog-2 order-2 >&2
    orders="order lab-order-2" catalogs="catalog lab-catalog-2"
    gw_env=(
      STATIC_SERVICES=user=127.0.0.1:9081,catalog=127.0.0.1:9082,catalog=127.0.0.1:19382,cart=127.0.0.1:9083,payment=127.0.0.1:9084,order=127.0.0.1:9085,order=127.0.0.1:19185,shipping=127.0.0.1:9087
      HTTP_SERVICES=user=127.0.0.1:8081,catalog=127.0.0.1:8082,catalog=127.0.0.1:18382,cart=127.0.0.1:8083,payment=127.0.0.1:8084,order=127.0.0.1:8085,order=127.0.0.1:18185,history=127.0.0.1:8086
      ADMIN_SERVICES=user=127.0.0.1:7081,catalog=127.0.0.1:7082,catalog=127.0.0.1:17382,cart=127.0.0.1:7083,payment=127.0.0.1:7084,order=127.0.0.1:7085,order=127.0.0.1:17185
    )
  else
    stop_extra
    orders=order catalogs=catalog
  fi
  # The shop is shared: another session may restart a service mid-run. A run the bench could not
  # finish, or during which order or catalog restarted, is tried again (up to 3 times), once every
  # service is ready.
  for attempt in 1 2 3; do
    for _ in $(seq 60); do all_ready && break; sleep 2; done
    say "round $round, $mode instance(s), attempt $attempt: order pids $(pids_of $orders), catalog pids $(pids_of $catalogs)"
    sample "$orders" "$catalogs" >"$out/$tag.cpu" &
    sampler=$!
    # The bench's log lines, each with the time it was read (ms), to cut the CPU samples per step.
    if env "${gw_env[@]}" bash scripts/bench.sh --smoke --json --rates "$rates" --step "$step" 2> >(
      while IFS= read -r line; do echo "$(($(date +%s%N) / 1000000)) $line"; done >"$out/$tag.log"
    ) >"$out/$tag.json"; then ok=1; else ok=0; fi
    sleep 1
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null || true
    sampler=""
    if ((ok)) && (($(cut -d' ' -f6 "$out/$tag.cpu" | sort -u | wc -l) > 1)); then
      ok=0
      say "round $round, $mode: order or catalog restarted during the run (another session): its CPU is void"
    elif ((ok)); then
      break
    else
      say "round $round, $mode: the bench failed: $(grep -v 'trying again' "$out/$tag.log" | tail -1 | cut -c15-300)"
    fi
    cp "$out/$tag.log" "$out/$tag.failed-$attempt.log"
  done
  node scripts/scale-out-report.mjs "$mode" "$round" "$out/$tag" | tee -a "$out/summary.txt" || true
}

say "rounds $rounds, rates $rates, step $step; files in $out"
for ((r = 1; r <= rounds; r++)); do
  # Alternate which side goes first, so neither always runs on a machine the other just warmed.
  if ((r % 2)); then run_one one "$r"; run_one two "$r"; else run_one two "$r"; run_one one "$r"; fi
done
stop_extra
say "summary: $out/summary.txt"
