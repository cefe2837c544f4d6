#!/usr/bin/env bash
# The compose demo, for real, on a machine without an image registry (docs/deployment.md#local-images):
# starts our own dockerd (infra/local/docker.sh), builds the local images (infra/local/images.sh),
# brings docker-compose.yml up with docker-compose.local.yml, waits until every container is
# healthy and the one-shots have exited 0, runs the shopper end-to-end test against the gateway
# container, then takes the stack down (volumes too) and stops the dockerd if it started it.
#
# usage: infra/local/compose-check.sh [--keep]
#   --keep   leave the compose stack (and the dockerd) running afterwards
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
[[ ${1:-} == --keep ]] && KEEP=1
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
while IFS='=' read -r name value; do
  [[ -n ${!name:-} ]] || export "$name=$value"
done <"$compose_secrets"

t_all=$(_now_us)
engine_started=0
started_file=$(mktemp)
SHOPLAB_STARTED_FILE=$started_file bash "$HERE/docker.sh" up
grep -qx docker "$started_file" && engine_started=1
rm -f "$started_file"
eval "$(bash "$HERE/docker.sh" env)"
bash "$HERE/images.sh"

files=(-f "$REPO_DIR/docker-compose.yml" -f "$REPO_DIR/docker-compose.local.yml")
private=${SHOPLAB_COMPOSE_PRIVATE:-0}
if [[ $private != 1 ]]; then
  for p in 5432 9092 8500 16686 4317 4318 9090 8080 8081 8082 8083 8084 8085 8086 8088; do
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

# Where the test finds each service: GATEWAY_URL (the public API) and SHOPLAB_<SERVICE>_URL (the
# services' own admin APIs, as shopctl reads them): the published ports, or the containers'
# addresses on the compose network when nothing is published.
for s in $(compose ps --services); do
  id=$(compose ps -q "$s")
  port=$("$SHOPLAB_DOCKER" inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$id" | sed -n 's/^HTTP_PORT=//p')
  [[ -n $port ]] || continue
  if [[ $private == 1 ]]; then
    host=$("$SHOPLAB_DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id")
  else
    host=127.0.0.1
  fi
  export "SHOPLAB_${s^^}_URL=http://$host:$port"
done
export GATEWAY_URL=$SHOPLAB_GATEWAY_URL
say compose "shopper end-to-end test against $GATEWAY_URL"
t0=$(_now_us)
(cd "$REPO_DIR" && node --enable-source-maps --test --test-concurrency=1 test/e2e/dist/shopper.e2e.test.js)
say compose "shopper test passed in $(_elapsed "$t0"); compose check done in $(_elapsed "$t_all")"
