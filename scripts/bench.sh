#!/usr/bin/env bash
# `make bench`: the figures of docs/benchmarks.md (P1–P6) against the running local stack
# (make up), through a gateway of the bench's own (scripts/lib/own-gateway.sh: the same build,
# the rate limit raised for it alone), recorded in docs/benchmarks.md.
# Usage: scripts/bench.sh [shopctl bench options]   e.g. --smoke (what make check runs), --no-exercise
# Environment: BENCH_GATEWAY_PORT (default 18081).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHOPLAB_STATE=${SHOPLAB_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/shoplab}
SECRETS=$SHOPLAB_STATE/secrets.env
say() { printf '[bench] %s\n' "$*" >&2; }

[[ -s $SECRETS ]] || { say "no $SECRETS: start the stack first (make up)"; exit 2; }
# shellcheck disable=SC1090
source "$SECRETS"
export ADMIN_TOKEN
# shellcheck source=lib/own-gateway.sh
source "$ROOT/scripts/lib/own-gateway.sh"
trap own_gateway_stop EXIT

own_gateway_start "${BENCH_GATEWAY_PORT:-18081}" bench || { say "could not start the bench gateway"; exit 2; }
args=(--gateway "$OWN_GATEWAY_URL" --gateway-pid "$OWN_GATEWAY_PID")
# The smoke (make check) prints its figures only; a full run records them in docs/benchmarks.md.
[[ " $* " == *" --smoke "* ]] || args+=(--write docs/benchmarks.md)
node --enable-source-maps packages/shopctl/dist/src/cli.js bench "${args[@]}" "$@"
# The page is formatted like every other file of the repository (make check's lint step).
[[ " $* " == *" --smoke "* ]] || npx --no-install biome format --write docs/benchmarks.md >/dev/null
