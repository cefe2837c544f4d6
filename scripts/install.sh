#!/usr/bin/env bash
# Install node dependencies exactly as locked, skipping the work when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.shoplab-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "install: node_modules matches package-lock.json"
  exit 0
fi
npm ci --no-audit --no-fund
echo "$want" >"$stamp"
