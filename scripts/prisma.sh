#!/usr/bin/env bash
# Prisma for every schema in the repo, offline (Wasm schema engine through the chassis
# adapter; docs/adr/0004-prisma-offline.md). A schema's folder holds prisma.config.ts.
#
#   scripts/prisma.sh generate [dir ...]             generate the clients (part of `npm run build`)
#   PRISMA_DIR=<dir> scripts/prisma.sh <prisma args>  any CLI command for one schema, e.g.
#   PRISMA_DIR=services/order scripts/prisma.sh migrate deploy
#
# Database settings come from DB_HOST/DB_PORT/DB_USER/DB_PASSWORD/DB_NAME, as for the services.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prisma="$root/node_modules/.bin/prisma"

schema_dirs() {
  if (($# > 0)); then printf '%s\n' "$@"; return; fi
  if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$root" && git ls-files --cached --others --exclude-standard -- '*prisma.config.ts' | xargs -rn1 dirname | sort -u)
  else # a build context without .git (docker build)
    (cd "$root" && find . -name prisma.config.ts -not -path '*/node_modules/*' -printf '%h\n' | sed 's#^\./##' | sort -u)
  fi
}

case "${1:-}" in
generate)
  shift
  while read -r dir; do
    # generate reads the schema only; DB_NAME just satisfies the shared config.
    if ! log=$(cd "$root/$dir" && DB_NAME="${DB_NAME:-unused}" "$prisma" generate --no-hints 2>&1); then
      echo "$log" >&2
      exit 1
    fi
    echo "prisma: generated the client of $dir"
  done < <(schema_dirs "$@")
  ;;
"" | -h | --help)
  sed -n '2,9p' "$0"
  ;;
*)
  : "${PRISMA_DIR:?set PRISMA_DIR to the folder holding prisma.config.ts}"
  cd "$root/$PRISMA_DIR" && exec "$prisma" "$@"
  ;;
esac
