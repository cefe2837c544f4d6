#!/usr/bin/env bash
# The pinned Node.js LTS (.node-version; infra/local/node.sh), then the node dependencies exactly
# as locked, skipping the work when nothing changed (the lock and the Node version are the same).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/local/node.sh ensure
hash -r
stamp=node_modules/.shoplab-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1) node $(node --version)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "install: node_modules matches package-lock.json"
  exit 0
fi
npm ci --no-audit --no-fund
echo "$want" >"$stamp"
