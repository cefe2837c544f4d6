#!/usr/bin/env bash
# Lint the contracts in proto/ and generate TypeScript into packages/contracts/src/gen.
# With --check, generate into a scratch copy and fail if the committed code is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=node_modules/.bin/buf

"$buf" lint
if [[ "${1:-}" != "--check" ]]; then
  "$buf" generate
  echo "proto: generated packages/contracts/src/gen"
  exit 0
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Generate from the same inputs into the scratch dir, then compare with what is committed.
sed "s#out: packages/contracts/src/gen#out: $scratch/gen#" buf.gen.yaml >"$scratch/buf.gen.yaml"
"$buf" generate --template "$scratch/buf.gen.yaml"
if ! diff -ru packages/contracts/src/gen "$scratch/gen"; then
  echo "proto: packages/contracts/src/gen is stale: run 'make proto' and commit the result" >&2
  exit 1
fi
echo "proto: generated code is up to date"
