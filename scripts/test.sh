#!/usr/bin/env bash
# Run every compiled test file (node's built-in runner) against the local stack.
# Usage: scripts/test.sh [path-substring ...]   e.g. scripts/test.sh chassis smoke
# Expects `npm run build` to have run and the infrastructure to be up (make up / make check).
# The end-to-end suites (test/e2e and any *.e2e.test) need the services running too; they
# run only when asked for by name (scripts/test.sh e2e), which scripts/check.sh does after
# starting them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Addresses of the local stack (defaults the code uses anyway; printed for the record).
eval "$(bash infra/local/infra.sh env)"

mapfile -t files < <(find packages services test -path '*/node_modules' -prune -o \
  -path '*/dist/*' -name '*.test.js' -print 2>/dev/null | sort)
if (($# > 0)); then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -F "$(printf '%s\n' "$@")" || true)
else
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v -e '^test/e2e/' -e '\.e2e\.test\.js$' || true)
fi
if ((${#files[@]} == 0)); then
  echo "test: no compiled test files found (run 'npm run build' first)" >&2
  exit 1
fi
echo "test: ${#files[@]} test files"
exec node --enable-source-maps --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
