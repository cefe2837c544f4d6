#!/usr/bin/env bash
# Schema-driven fuzz of the gateway's public API: Schemathesis reads the OpenAPI document the
# gateway serves and sends what it describes, and what it does not (every phase: examples,
# coverage, fuzzing, stateful; every check), against the running local stack. Zero failures
# or this exits non-zero. docs/adr/0017-problem-pages-and-api-fuzzing.md says why and what.
#
# usage: scripts/fuzz-api.sh [schemathesis run options]   (make fuzz; make check runs it after
#        the e2e tests); e.g. scripts/fuzz-api.sh --include-path-regex '/cart' fuzzes the cart only
# Needs the stack up (make up, or the services scripts/check.sh started) and python3 with venv.
#
# What it does:
#   1. installs Schemathesis $SCHEMATHESIS_VERSION once into a venv cached outside the
#      repository ($SHOPLAB_CACHE/venv-schemathesis-<version>; idempotent);
#   2. starts a second gateway process on $FUZZ_GATEWAY_PORT, the same build with the same
#      downstreams, whose only difference is raised rate limits (RATE_LIMIT_PER_MINUTE and
#      the address budgets' allowance for 127.0.0.1, for this process alone: the settings of
#      the shop's gateway on :8080 are untouched), and
#      stops it at the end;
#   3. registers a user of its own and passes its token for `bearerAuth` operations and the
#      admin token for `adminToken` ones;
#   4. runs Schemathesis with a fixed seed and example count, so the run takes a bounded time.
#
# Environment: FUZZ_SEED (default 20261205), FUZZ_MAX_EXAMPLES (default 25), FUZZ_WORKERS
# (default 1), FUZZ_GATEWAY_PORT (default 18080), FUZZ_BASE_URL (fuzz an already running
# gateway instead of starting one), FUZZ_REPORT_DIR (default $SHOPLAB_STATE/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SCHEMATHESIS_VERSION=4.32.5
SHOPLAB_CACHE=${SHOPLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shoplab}
SHOPLAB_STATE=${SHOPLAB_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/shoplab}
VENV=$SHOPLAB_CACHE/venv-schemathesis-$SCHEMATHESIS_VERSION
SEED=${FUZZ_SEED:-20261205}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-25}
WORKERS=${FUZZ_WORKERS:-1}
PORT=${FUZZ_GATEWAY_PORT:-18080}
REPORT_DIR=${FUZZ_REPORT_DIR:-$SHOPLAB_STATE/fuzz}
SECRETS=$SHOPLAB_STATE/secrets.env

say() { printf '[fuzz] %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

# --- 1. Schemathesis, pinned, in a cached venv ------------------------------------------
# The stamp is written last: a venv without it (an interrupted install) is made again.
if [[ ! -f $VENV/.installed ]]; then
  command -v python3 >/dev/null || die "python3 is needed (apt-get install python3 python3-venv)"
  say "installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV"; then
    # Debian's python3 comes without ensurepip; its venv module is the package python3-venv.
    [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || die "python3 -m venv failed (apt-get install python3-venv)"
    say "installing Debian package python3-venv (apt-get)"
    rm -rf "$VENV"
    apt-get install -y --no-install-recommends python3-venv >&2 ||
      { apt-get update >&2 && apt-get install -y --no-install-recommends python3-venv >&2; }
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  touch "$VENV/.installed"
fi
"$VENV/bin/st" --version >&2

[[ -s $SECRETS ]] || die "no $SECRETS: start the stack first (make up)"
# shellcheck disable=SC1090
source "$SECRETS"
export ADMIN_TOKEN

WORK=$(mktemp -d)
# shellcheck source=lib/own-gateway.sh
source "$ROOT/scripts/lib/own-gateway.sh"
cleanup() {
  own_gateway_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 2. A gateway of its own, with the rate limit raised for this run only --------------
if [[ -n ${FUZZ_BASE_URL:-} ]]; then
  BASE=$FUZZ_BASE_URL
else
  own_gateway_start "$PORT" fuzz || die "could not start the fuzz gateway (FUZZ_GATEWAY_PORT picks another port)"
  BASE=$OWN_GATEWAY_URL
fi

# --- 3. A user of its own ---------------------------------------------------------------
email="fuzz-$(date +%s)-$RANDOM@example.com"
token=$(curl -fsS -m 10 -X POST "$BASE/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"fuzz-password-$RANDOM$RANDOM\",\"name\":\"Fuzz\"}" |
  "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])') ||
  die "could not register the fuzz user at $BASE"
export FUZZ_USER_TOKEN=$token
say "registered $email"

# The fuzz owns its data (docs/adr/0015-tests-own-their-data.md): the only product ids it can
# learn are those of the category `fuzz` (its listing is pinned to it below), which holds the
# one product it makes (once; later runs reuse it), so a checkout it gets through buys nothing
# the shop had before. Checked after the run.
CATALOG_URL=${SHOPLAB_CATALOG_URL:-http://127.0.0.1:8082}
# Its admin routes answer on its admin listener only (docs/architecture.md#trust-boundaries).
CATALOG_ADMIN_URL=${SHOPLAB_CATALOG_ADMIN_URL:-${SHOPLAB_CATALOG_URL:-http://127.0.0.1:7082}}
FUZZ_PRODUCT=$(curl -fsS -m 10 "$CATALOG_URL/v1/products?category=fuzz&limit=1" |
  "$VENV/bin/python" -c 'import json, sys; items = json.load(sys.stdin)["items"]; print(items[0]["id"] if items else "")') ||
  die "could not list the catalog at $CATALOG_URL"
if [[ -z $FUZZ_PRODUCT ]]; then
  FUZZ_PRODUCT=$(curl -fsS -m 10 -X POST "$CATALOG_ADMIN_URL/v1/admin/products" -H "authorization: Bearer $ADMIN_TOKEN" \
    -H 'content-type: application/json' \
    -d '{"name":"Fuzz product","category":"fuzz","price":{"amount":100,"currency":"USD"},"stock":1000000}' |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["id"])') ||
    die "could not create the fuzz product at $CATALOG_URL"
  say "created product $FUZZ_PRODUCT (category fuzz)"
fi
export FUZZ_PRODUCT

# --- 4. Schemathesis --------------------------------------------------------------------
# `--checks all` includes max_response_time (10 s by default). Speed goals belong to
# benchmarks, not tests, so its limit is the request timeout: it catches an answer that never
# comes (the audit of a shop with thousands of orders takes several seconds on a busy machine).
# Tokens by security scheme: each operation gets the one its `security` names.
cat >"$WORK/schemathesis.toml" <<'EOF'
[auth.openapi.bearerAuth]
bearer = "${FUZZ_USER_TOKEN}"

[auth.openapi.adminToken]
bearer = "${ADMIN_TOKEN}"

# Never called: the two admin operations whose very purpose is to break the shop (inject
# faults, switch every breaker off), on the gateway and through it on every service; a fuzzer
# would leave the stack broken for everything after it. Here rather than on the command line,
# so that filters passed to this script cannot bring them back.
[[operations]]
include-name-regex = "^PUT .*/admin/(chaos|breakers)"
enabled = false

# Cart adds name the fuzz's own product, and the listing shows only its category (see above):
# no response hands the fuzz the id of a product it did not make.
[parameters]
"body.productId" = { dictionary = "fuzz-product", probability = 1.0 }

[dictionaries.fuzz-product]
values = ["${FUZZ_PRODUCT}"]

# Half the checkouts pay with a test card (random digits rarely pass the Luhn check), so the
# fuzz reaches accepted checkouts and the orders they make: one succeeds, one is declined.
[parameters."body.card.number"]
dictionary = "test-cards"
probability = 0.5

[dictionaries.test-cards]
values = ["4242 4242 4242 4242", "4000 0000 0000 0002"]

[parameters."body.card.expYear"]
dictionary = "future-years"
probability = 0.5

[dictionaries.future-years]
values = [2099]

[[operations]]
include-name = "GET /api/v1/products"
parameters = { category = "fuzz" }
# A page cursor is only valid when a previous page handed it out (SHOP_VALIDATION_FAILED otherwise).
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# What the checkout's schema does not say, so a schema-valid checkout may still be refused
# with 400: a card number must pass the Luhn check and not be expired (SHOP_INVALID_CARD), and a
# shipping address is checked by the user service (an assigned ISO 3166-1 country, a postal
# code of letters, digits, spaces and dashes, a saved address id of the caller's); the same
# Idempotency-Key with another body is 422 SHOP_IDEMPOTENCY_KEY_REUSED.
[[operations]]
include-name = "POST /api/v1/checkout"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]

[[operations]]
include-name = "GET /api/v1/orders"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# The order history's search: a cursor the history did not hand out, `from` after `to`, or
# `minAmount` above `maxAmount` is 400 SHOP_VALIDATION_FAILED.
[[operations]]
include-name = "GET /api/v1/orders/history"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

[[operations]]
include-name = "GET /api/v1/admin/orders/search"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
EOF

mkdir -p "$REPORT_DIR"
say "schemathesis: every check, every phase, seed $SEED, at most $MAX_EXAMPLES examples per operation"
# From the temporary directory: Schemathesis keeps its cache (.schemathesis/) where it runs.
cd "$WORK"
"$VENV/bin/st" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
  --url "$BASE" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --seed "$SEED" \
  --max-examples "$MAX_EXAMPLES" \
  --workers "$WORKERS" \
  --generation-database none \
  --request-timeout 30 \
  --max-response-time 30 \
  --report junit --report-dir "$REPORT_DIR" \
  "$@" || rc=$?

# Nothing the shop had before was put in the fuzz user's cart or bought by it.
"$VENV/bin/python" - "$BASE" "$FUZZ_USER_TOKEN" "$FUZZ_PRODUCT" <<'PY' || rc=1
import json, sys, urllib.request
base, token, product = sys.argv[1:]
def get(path):
    req = urllib.request.Request(base + path, headers={"authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            return json.load(res)
    except OSError as err:
        sys.exit(f"[fuzz] could not read the fuzz user's {path}: {err}")
foreign = [l["productId"] for l in get("/api/v1/cart")["lines"] if l["productId"] != product]
orders = get("/api/v1/orders?limit=100")["items"]
foreign += [l["productId"] for o in orders for l in o["lines"] if l["productId"] != product]
if foreign:
    print(f"[fuzz] the fuzz user's cart or orders hold products it did not make: {sorted(set(foreign))}", file=sys.stderr)
    sys.exit(1)
print(f"[fuzz] the fuzz user's cart and {len(orders)} order(s) hold only its own product", file=sys.stderr)
PY
exit "${rc:-0}"
