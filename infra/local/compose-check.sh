#!/usr/bin/env bash
# The compose demo, for real, on a machine without an image registry (docs/deployment.md#local-images):
# starts our own dockerd (infra/local/docker.sh), builds Compose v2 and the local images
# (infra/local/images.sh) side by side, brings docker-compose.yml up with
# docker-compose.local.yml, waits until every container is healthy and the one-shots have exited
# 0, then tests the shop through the containers: the shopper end-to-end test, the observability
# test (a checkout's trace in the containerised Jaeger, every service's metrics in the
# containerised Prometheus), every service a healthy Prometheus target, and exercise 2 (payment
# down: the saga compensates) with shopctl. Then it takes the stack down (volumes too) and stops
# the dockerd if it started it.
#
# usage: infra/local/compose-check.sh [--keep | --prepare]
#   --keep     leave the compose stack (and the dockerd) running afterwards
#   --prepare  only the engine (started, and left running), Compose v2 and the images; no
#              container runs. scripts/check.sh runs this in the background early on (niced) and
#              the whole check at its end, when the images are current and it takes minutes.
#              The engine is recorded in $SHOPLAB_STARTED_FILE when it was started here.
#
# The compose file publishes the native stack's ports on 127.0.0.1. When they are free (CI, after
# `make down`), the test goes through the published ports. When the native stack holds them, the
# check does not touch it: it runs as with SHOPLAB_COMPOSE_PRIVATE=1 — an extra override (written
# under the state dir) drops the published ports (Compose v2's `!reset`), and the test talks to the
# containers' addresses on the compose network.
#
# Environment: SHOPLAB_COMPOSE_PROJECT (default shoplab-compose-check), SHOPLAB_COMPOSE_WAIT
# (seconds to wait for health, default 600), SHOPLAB_COMPOSE_PRIVATE=1 (never publish ports).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
REPO_DIR=$(cd "$INFRA_DIR/.." && pwd)
PROJECT=${SHOPLAB_COMPOSE_PROJECT:-shoplab-compose-check}
WAIT=${SHOPLAB_COMPOSE_WAIT:-600}
KEEP=0
PREPARE=0
case ${1:-} in
  --keep) KEEP=1 ;;
  --prepare) PREPARE=1 ;;
  "") ;;
  *) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
# docker-compose.yml has no default secrets: generated once into the state dir (mode 600; the
# data volumes outlive a --keep run, so the same password), exported unless already set here.
# shellcheck source=../../scripts/lib/secrets.sh
source "$REPO_DIR/scripts/lib/secrets.sh"
compose_secrets=$SHOPLAB_STATE/compose/secrets.env
if [[ ! -s $compose_secrets ]]; then
  mkdir -p "$(dirname "$compose_secrets")"
  (umask 077 && shoplab_compose_secrets >"$compose_secrets")
fi
# A file from before the services carried keys (or before a service joined the table of callers)
# lacks some: the keys are made anew as a set (every service starts with them).
for name in "${SHOPLAB_COMPOSE_SECRETS[@]}"; do
  grep -q "^$name=" "$compose_secrets" && continue
  (
    umask 077
    grep -vE '^(JWT_PRIVATE_KEY|JWT_PUBLIC_KEY|SERVICE_PUBLIC_KEYS|SERVICE_KEY_[A-Z_]+)=' "$compose_secrets" >"$compose_secrets.new" || true
    shoplab_key_settings "${SHOPLAB_KEYED_SERVICES[@]}" >>"$compose_secrets.new"
  )
  mv "$compose_secrets.new" "$compose_secrets"
  break
done
# Split at the first '=' by hand: `IFS='=' read` would drop a value's one trailing '=' (base64
# padding), and user then refuses a JWT_PUBLIC_KEY that no longer matches JWT_PRIVATE_KEY.
while IFS= read -r line; do
  name=${line%%=*}
  [[ -n $name && $name != "$line" ]] || continue
  [[ -n ${!name:-} ]] || export "$name=${line#*=}"
done <"$compose_secrets"

t_all=$(_now_us)
engine_started=0
started_file=$(mktemp)
SHOPLAB_STARTED_FILE=$started_file bash "$HERE/docker.sh" up
if grep -qx docker "$started_file"; then
  engine_started=1
  ((PREPARE)) && [[ -n ${SHOPLAB_STARTED_FILE:-} ]] && echo docker >>"$SHOPLAB_STARTED_FILE"
fi
rm -f "$started_file"
# Compose v2 (a Go build when not cached: minutes, mostly downloads) beside the images.
compose_log=$(mktemp)
bash "$HERE/docker.sh" install >"$compose_log" 2>&1 &
compose_pid=$!
images_rc=0
bash "$HERE/images.sh" || images_rc=$?
compose_rc=0
wait "$compose_pid" || compose_rc=$?
cat "$compose_log"
rm -f "$compose_log"
if ((images_rc != 0 || compose_rc != 0)); then
  ((engine_started && !PREPARE)) && bash "$HERE/docker.sh" down || true
  die compose "preparing failed (images.sh exit $images_rc, docker.sh install exit $compose_rc)"
fi
eval "$(bash "$HERE/docker.sh" env)"
if ((PREPARE)); then
  say compose "prepared in $(_elapsed "$t_all"): the engine runs, Compose $SHOPLAB_COMPOSE, every image current"
  exit 0
fi

files=(-f "$REPO_DIR/docker-compose.yml" -f "$REPO_DIR/docker-compose.local.yml")
private=${SHOPLAB_COMPOSE_PRIVATE:-0}
if [[ $private != 1 ]]; then
  # Every port docker-compose.yml publishes on 127.0.0.1.
  for p in $(sed -n 's/^ *- *"\{0,1\}127\.0\.0\.1:\([0-9]*\):.*/\1/p' "$REPO_DIR/docker-compose.yml" | sort -un); do
    if [[ -n $(port_listeners "$p") ]]; then
      say compose "port $p is taken ($(describe_port "$p" | cut -c1-80)): running without published ports"
      private=1
      break
    fi
  done
fi
if [[ $private == 1 ]]; then
  [[ $SHOPLAB_COMPOSE == */docker-compose-v2* ]] || die compose "running without published ports needs Compose v2 (\`!reset\`); free the ports instead"
  private_file=$SHOPLAB_STATE/compose/no-ports.yml
  {
    echo "# Written by infra/local/compose-check.sh: no published ports (the native stack holds them)."
    echo "services:"
    "$SHOPLAB_COMPOSE" --project-directory "$REPO_DIR" "${files[@]}" --profile grafana config --services | while read -r s; do
      printf '  %s:\n    ports: !reset []\n' "$s"
    done
  } | write_if_changed "$private_file"
  files+=(-f "$private_file")
fi
# The tests' configuration, as the native stack's (infra/local/services.sh): user hashes
# passwords at scrypt N=2^14, four at once, where production hashes at OWASP's cost one at a time
# — the exercise registers its shoppers side by side, and each registration must answer the
# gateway within its 2 s. The gateway's sign-in budget per address is scaled up for the tests'
# shoppers (the native stack allows 127.0.0.1 instead; here they arrive from the bridge's address,
# which differs per machine): every budget still applies.
test_file=$SHOPLAB_STATE/compose/test-config.yml
mkdir -p "$(dirname "$test_file")"
cat <<'EOF' | write_if_changed "$test_file"
# Written by infra/local/compose-check.sh: the tests' configuration (as infra/local/services.sh's).
services:
  user:
    environment:
      PASSWORD_SCRYPT_N: "16384"
      PASSWORD_HASH_CONCURRENCY: "4"
  gateway:
    environment:
      RATE_LIMIT_AUTH_PER_MINUTE: "600"
EOF
files+=(-f "$test_file")
compose() { "$SHOPLAB_COMPOSE" -p "$PROJECT" --project-directory "$REPO_DIR" "${files[@]}" "$@"; }

cleanup() {
  local rc=$?
  if ((KEEP)); then
    say compose "--keep: the stack stays up (project $PROJECT); down: $SHOPLAB_COMPOSE -p $PROJECT ${files[*]} down -v"
    exit "$rc"
  fi
  if ((rc != 0)); then
    say compose "FAILED; the containers' state and last log lines:"
    compose ps -a || true
    compose logs --no-color --tail 30 || true
  fi
  compose down -v --remove-orphans || true
  ((engine_started)) && bash "$HERE/docker.sh" down || true
  exit "$rc"
}
trap cleanup EXIT

t0=$(_now_us)
say compose "up (project $PROJECT, up to ${WAIT}s until healthy)"
compose up -d --no-build --wait --wait-timeout "$WAIT"
say compose "every container healthy in $(_elapsed "$t0")"
compose ps -a
for oneshot in migrate kafka-init; do
  code=$("$SHOPLAB_DOCKER" inspect -f '{{.State.ExitCode}}' "$(compose ps -a -q "$oneshot")")
  [[ $code == 0 ]] || die compose "$oneshot exited $code"
done

# address SERVICE PORT: where the host reaches a container's port: the published port on
# 127.0.0.1, or the container's address on the compose network when nothing is published.
address() {
  if [[ $private == 1 ]]; then
    echo "$("$SHOPLAB_DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(compose ps -q "$1")"):$2"
  else
    echo "127.0.0.1:$2"
  fi
}

# Where the tests find each service: GATEWAY_URL (the public API), SHOPLAB_<SERVICE>_URL (each
# service's HTTP port) and SHOPLAB_<SERVICE>_ADMIN_URL (its admin listener, ADMIN_PORT in
# docker-compose.yml: the admin APIs shopctl, the exercises and the system tests call; 404 on the
# HTTP port), JAEGER_QUERY_URL and PROMETHEUS_URL.
registered=()
for s in $(compose ps --services); do
  id=$(compose ps -q "$s")
  env=$("$SHOPLAB_DOCKER" inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$id")
  port=$(sed -n 's/^HTTP_PORT=//p' <<<"$env")
  [[ -n $port ]] || continue
  # Those that register in Consul are what the upstream Prometheus discovers and scrapes.
  grep -qx REGISTRY_MODE=consul <<<"$env" && registered+=("$s")
  v=SHOPLAB_${s^^}_URL
  export "${v//-/_}=http://$(address "$s" "$port")"
  port=$(sed -n 's/^ADMIN_PORT=//p' <<<"$env")
  [[ -n $port ]] || continue
  v=SHOPLAB_${s^^}_ADMIN_URL
  export "${v//-/_}=http://$(address "$s" "$port")"
done
[[ -n ${SHOPLAB_GATEWAY_ADMIN_URL:-} && -n ${SHOPLAB_ORDER_ADMIN_URL:-} ]] || die compose "no ADMIN_PORT on the gateway or order"
export GATEWAY_URL=$SHOPLAB_GATEWAY_URL GATEWAY_ADMIN_URL=$SHOPLAB_GATEWAY_ADMIN_URL
JAEGER_QUERY_URL=http://$(address jaeger 16686)
PROMETHEUS_URL=http://$(address prometheus 9090)
export JAEGER_QUERY_URL PROMETHEUS_URL

t0=$(_now_us)
say compose "system tests against $GATEWAY_URL: the shopper's path, a checkout's trace in Jaeger ($JAEGER_QUERY_URL), the metrics in Prometheus ($PROMETHEUS_URL)"
(cd "$REPO_DIR" && node --enable-source-maps --test --test-concurrency=1 \
  test/e2e/dist/shopper.e2e.test.js test/e2e/dist/observability.e2e.test.js)
say compose "system tests passed in $(_elapsed "$t0")"

# Every service that registers in Consul is a target of the containerised Prometheus (job
# shoplab, label service), and up.
t0=$(_now_us)
((${#registered[@]} > 0)) || die compose "no container runs with REGISTRY_MODE=consul: nothing for Prometheus to discover"
say compose "Prometheus: ${registered[*]} scraped and up"
node - "$PROMETHEUS_URL" "${registered[@]}" <<'JS'
const [url, ...want] = process.argv.slice(2);
const deadline = Date.now() + 60_000;
(async () => {
  for (;;) {
    let up = [];
    try {
      const res = await fetch(`${url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(5000) });
      const targets = (await res.json()).data.activeTargets.filter((t) => t.labels.job === 'shoplab');
      up = targets.filter((t) => t.health === 'up').map((t) => t.labels.service);
    } catch {}
    const missing = want.filter((s) => !up.includes(s));
    if (missing.length === 0) return console.log(`every one up: ${want.join(', ')}`);
    if (Date.now() > deadline) {
      console.error(`not up as a target of job shoplab after 60 s: ${missing.join(', ')} (up: ${up.join(', ') || 'none'})`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
})();
JS
say compose "Prometheus targets checked in $(_elapsed "$t0")"

# An exercise through the containers: shopctl finds the services by SHOPLAB_<SERVICE>_URL, their
# admin listeners by SHOPLAB_<SERVICE>_ADMIN_URL and the admin token in ADMIN_TOKEN (the compose
# secrets). It ends with the audit.
t0=$(_now_us)
say compose "exercise 2 (payment down: the saga compensates) through the containers"
(cd "$REPO_DIR" && node packages/shopctl/dist/src/cli.js exercise run 2)
say compose "exercise 2 passed in $(_elapsed "$t0"); compose check done in $(_elapsed "$t_all")"
