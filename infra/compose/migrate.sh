#!/usr/bin/env bash
# `prisma migrate deploy` for each service of MIGRATE_SERVICES (database shoplab_<service>), in
# parallel, each line prefixed with its service. The command of the Dockerfile's `migrate` image:
# the one-shot `migrate` service in docker-compose.yml (all five) and the `migrate` init
# container of each Deployment in k8s/ (its own service). DB_HOST/DB_PORT/DB_USER/DB_PASSWORD as
# for the services. Exit status: non-zero when any migration failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
read -ra services <<<"${MIGRATE_SERVICES:?set MIGRATE_SERVICES, e.g. \"user catalog\"}"
pids=()
for s in "${services[@]}"; do
  [[ -d services/$s/prisma/migrations ]] || { echo "migrate: services/$s has no prisma/migrations" >&2; exit 2; }
  (
    set -o pipefail
    DB_NAME=shoplab_$s PRISMA_DIR=services/$s bash scripts/prisma.sh migrate deploy 2>&1 | sed -u "s/^/[$s] /"
  ) &
  pids+=("$!")
done
rc=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    echo "migrate: ${services[$i]} (shoplab_${services[$i]}) is up to date"
  else
    echo "migrate: ${services[$i]} (shoplab_${services[$i]}) FAILED" >&2
    rc=1
  fi
done
exit "$rc"
