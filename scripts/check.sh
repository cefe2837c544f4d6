#!/usr/bin/env bash
# The one command that runs every check and test (README, `make check`, .ci/run):
# install dependencies, start the real infrastructure, build, lint, check generated code,
# run every test; then stop whatever this run started, even when something failed.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
step() { printf '\n==> %s\n' "$*"; }

started_file=$(mktemp)
services_started=$(mktemp)
shop_before=$(mktemp)
cleanup() {
  local rc=$?
  if [[ -s "$services_started" ]]; then
    step "stopping the services this run started: $(tr '\n' ' ' <"$services_started")"
    # shellcheck disable=SC2046
    bash infra/local/services.sh down $(cat "$services_started") || true
  fi
  if [[ -s "$started_file" ]]; then
    step "stopping what this run started: $(tr '\n' ' ' <"$started_file")"
    # shellcheck disable=SC2046
    bash infra/local/infra.sh down $(cat "$started_file") || true
  fi
  rm -f "$started_file" "$services_started" "$shop_before"
  echo "check: finished in $((SECONDS - t0))s with exit code $rc"
  exit "$rc"
}
trap cleanup EXIT

step "dependencies (npm ci)"
bash scripts/install.sh

step "references: every link, #anchor and § resolves inside the repository"
make --no-print-directory check-refs

step "infrastructure (infra/local)"
SHOPLAB_STARTED_FILE="$started_file" bash infra/local/infra.sh up

step "build (prisma generate, tsc -b)"
npm run --silent build

step "the documented command line: npx --no-install shopctl --help runs ShopLab's own CLI"
npx --no-install shopctl --help | grep -q '^usage: shopctl ' ||
  { echo "check: 'npx --no-install shopctl --help' did not print ShopLab's help" >&2; exit 1; }

step "lint and format (biome)"
npm run --silent lint

step "generated code is fresh (buf + ts-proto)"
bash scripts/proto.sh --check

step "observability config (promtool rules and tests, Grafana dashboards)"
bash scripts/check-observability.sh

step "tests"
bash scripts/test.sh

step "the shop end to end: services up, then a shopper's path through the gateway"
SHOPLAB_STARTED_FILE="$services_started" bash infra/local/services.sh up
# The live tests own their data (docs/adr/0015-tests-own-their-data.md): record the user's
# shop now, and prove at the end that it is as it was.
node test/e2e/dist/shop-guard.js record "$shop_before"
bash scripts/test.sh e2e

step "the gateway's OpenAPI, fuzzed (Schemathesis: every check and phase, scripts/fuzz-api.sh)"
bash scripts/fuzz-api.sh

step "the bench's smoke (make bench, short): every figure of docs/benchmarks.md measured once, none judged"
bash scripts/bench.sh --smoke

step "the web shop in a real browser (Debian's chromium driven by playwright-core; installs chromium when missing)"
bash services/web/scripts/browser-test.sh

step "the exercises (docs/exercises): break the shop on purpose, each check ends with the audit"
node packages/shopctl/dist/src/cli.js exercise run all

step "the user's shop is as it was before the live tests (orders, products, stock)"
node test/e2e/dist/shop-guard.js check "$shop_before"
