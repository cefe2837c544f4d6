#!/usr/bin/env bash
# Checks ShopLab's observability configuration; needs promtool and python3, nothing running.
#   config       infra/prometheus/prometheus.local.yml rendered as infra/local/prometheus.sh
#                does it (placeholders substituted, in a temporary directory), then
#                `promtool check config` (which also loads every rule file it names)
#   rules        `promtool check rules` on infra/prometheus/rules/*.yml; duplicate rules fail
#   rule tests   `promtool test rules` on infra/prometheus/tests/*.yml
#   conventions  every alert has a severity label, summary and description annotations, and a
#                firing and a not-firing unit test; every recording rule is named level:metric:ops
#   grafana      the provisioning names datasource uid `prometheus` and the dashboards folder
#                (and infra/*/grafana provisioning, e.g. the compose mode's, uses the same uid);
#                every dashboard parses, has a unique uid; every panel, query and variable uses
#                that datasource uid; every target has an expr that parses as PromQL (promtool)
#                and names only recording rules that exist
# Prints a summary and exits 1 when a check fails. Metric names the dashboards or rules use but
# no service's source defines are reported as warnings (a metric may be on its way).
#
# usage: bash scripts/check-observability.sh        (PROMTOOL=/path/to/promtool to override)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

PROMTOOL=${PROMTOOL:-$(command -v promtool || echo /usr/bin/promtool)}
PROM_DIR=infra/prometheus
GRAFANA_DIR=infra/grafana

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-observability.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

summary=()
failed=0
# check NAME COMMAND...: runs the command, keeps its output for a failure, records the result.
check() {
  local name=$1 out rc
  shift
  printf '==> %s\n' "$name"
  out=$("$@" 2>&1)
  rc=$?
  if ((rc == 0)); then
    summary+=("ok    $name")
    # Warnings, and the last line (what was checked), of a passing check.
    printf '%s\n' "$out" | grep -iE 'warn' | sed 's/^/    /'
    printf '%s\n' "$out" | tail -n 1 | sed 's/^ */    /'
  else
    summary+=("FAIL  $name")
    failed=1
    printf '%s\n' "$out" | sed 's/^/    /'
  fi
  return 0
}

if [[ ! -x $PROMTOOL ]]; then
  echo "check-observability: promtool not found (apt-get install --no-install-recommends prometheus, or set PROMTOOL)" >&2
  exit 1
fi
command -v python3 >/dev/null || {
  echo "check-observability: python3 not found" >&2
  exit 1
}

shopt -s nullglob
rule_files=("$PROM_DIR"/rules/*.yml)
test_files=("$PROM_DIR"/tests/*.yml)
dashboards=("$GRAFANA_DIR"/dashboards/*.json)
shopt -u nullglob

# --- Prometheus config, rendered like infra/local/lib.sh render_template does -----------------
render_config() {
  local state=$tmp/state
  mkdir -p "$state/prometheus/targets" "$tmp/cache"
  # A file_sd target file shaped like the one infra/local/services.sh writes.
  printf '%s\n' '[{"targets":["127.0.0.1:8081"],"labels":{"service":"user"}}]' >"$state/prometheus/targets/shoplab-services.json"
  sed -e "s|__SHOPLAB_STATE__|$state|g" \
    -e "s|__SHOPLAB_CACHE__|$tmp/cache|g" \
    -e "s|__SHOPLAB_INFRA_DIR__|$ROOT/infra|g" "$PROM_DIR/prometheus.local.yml" >"$tmp/prometheus.yml"
  if grep -n '__SHOPLAB_[A-Z_]*__' "$tmp/prometheus.yml"; then
    echo "placeholders left after rendering"
    return 1
  fi
  "$PROMTOOL" check config "$tmp/prometheus.yml"
}
check "prometheus config (rendered prometheus.local.yml)" render_config

check_rules() {
  ((${#rule_files[@]})) || {
    echo "no rule files in $PROM_DIR/rules"
    return 1
  }
  "$PROMTOOL" check rules --lint=duplicate-rules --lint-fatal "${rule_files[@]}"
}
check "rules (promtool check rules)" check_rules

test_rules() {
  ((${#test_files[@]})) || {
    echo "no unit tests in $PROM_DIR/tests"
    return 1
  }
  "$PROMTOOL" test rules "${test_files[@]}"
}
check "rule unit tests (promtool test rules)" test_rules

# --- Conventions of the rules and their tests (needs PyYAML) -------------------------------
rule_conventions() {
  python3 - "${rule_files[@]}" -- "${test_files[@]}" <<'PY'
import re, sys
try:
    import yaml
except ImportError:
    print("WARNING: python3-yaml missing: rule conventions not checked")
    sys.exit(0)
args = sys.argv[1:]
rules, tests = args[:args.index("--")], args[args.index("--") + 1:]
errors = []
alerts = {}
for path in rules:
    for group in (yaml.safe_load(open(path)) or {}).get("groups", []):
        for rule in group.get("rules", []):
            if "alert" in rule:
                name = rule["alert"]
                where = f"{path}: alert {name}"
                alerts.setdefault(name, where)
                if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                    errors.append(f"{where}: labels.severity must be critical, warning or info")
                for key in ("summary", "description"):
                    if not rule.get("annotations", {}).get(key):
                        errors.append(f"{where}: annotation {key} missing")
            elif not re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule.get("record", "")):
                errors.append(f"{path}: recording rule {rule.get('record')!r} is not named level:metric:operations")
firing, quiet = set(), set()
for path in tests:
    for test in (yaml.safe_load(open(path)) or {}).get("tests", []):
        for case in test.get("alert_rule_test", []) or []:
            (firing if case.get("exp_alerts") else quiet).add(case.get("alertname"))
for name, where in sorted(alerts.items()):
    if name not in firing:
        errors.append(f"{where}: no unit test where it fires")
    if name not in quiet:
        errors.append(f"{where}: no unit test where it stays quiet")
for e in errors:
    print(e)
print(f"{len(alerts)} alerts, each with severity, summary, description and both kinds of test" if not errors else "")
sys.exit(1 if errors else 0)
PY
}
check "rule conventions (severity, annotations, tests per alert)" rule_conventions

# --- Grafana ---------------------------------------------------------------------------------
# Writes $tmp/dashboard-exprs.yml (every panel expr as a recording rule, Grafana variables
# replaced) for promtool to parse.
grafana_structure() {
  python3 - "$GRAFANA_DIR" "$tmp/dashboard-exprs.yml" "${rule_files[@]}" <<'PY'
import glob, json, os, re, sys

grafana, exprs_out, rule_files = sys.argv[1], sys.argv[2], sys.argv[3:]
errors = []

def provisioned(path, key):
    try:
        text = open(path).read()
    except OSError:
        errors.append(f"{path}: missing")
        return None
    m = re.search(rf"^\s*{key}:\s*['\"]?([^'\"\s#]+)", text, re.M)
    if not m:
        errors.append(f"{path}: no {key}")
    return m.group(1) if m else None

uid = provisioned(f"{grafana}/provisioning/datasources/prometheus.yml", "uid")
url = provisioned(f"{grafana}/provisioning/datasources/prometheus.yml", "url")
path = provisioned(f"{grafana}/provisioning/dashboards/shoplab.yml", "path")
if url and url != "http://prometheus:9090":
    errors.append(f"datasource url is {url}, expected http://prometheus:9090")
if path and path != "/var/lib/grafana/dashboards":
    errors.append(f"dashboard provider path is {path}, expected /var/lib/grafana/dashboards")

# Other Grafana provisioning in the repo (the compose mode's, infra/compose/grafana) must give
# its Prometheus datasource the same uid, or the dashboards find no datasource there.
for other in sorted(glob.glob("infra/*/grafana/provisioning/datasources/*.y*ml")):
    text = open(other).read()
    for block in re.split(r"^\s*-\s+(?=\w+:)", text, flags=re.M)[1:]:
        if re.search(r"^\s*type:\s*['\"]?prometheus\b", block, re.M):
            m = re.search(r"^\s*uid:\s*['\"]?([^'\"\s#]+)", block, re.M)
            if not m or m.group(1) != uid:
                errors.append(f"{other}: Prometheus datasource uid {m.group(1) if m else None!r} is not {uid!r}")

recorded = set()
for rf in rule_files:
    recorded |= set(re.findall(r"^\s*-?\s*record:\s*['\"]?([A-Za-z0-9_:]+)", open(rf).read(), re.M))

def substitute(expr):
    expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$__range", "1h")
    expr = expr.replace("${__rate_interval}", "1m").replace("${__range}", "1h")
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)

def panels_of(items):
    for p in items:
        yield p
        yield from panels_of(p.get("panels", []))

rules_out, uids, titles = [], {}, 0
files = sorted(glob.glob(f"{grafana}/dashboards/*.json"))
if not files:
    errors.append(f"no dashboards in {grafana}/dashboards")
for f in files:
    name = os.path.basename(f)
    try:
        d = json.load(open(f))
    except (OSError, ValueError) as e:
        errors.append(f"{name}: not valid JSON: {e}")
        continue
    for key in ("uid", "title", "schemaVersion", "panels"):
        if key not in d:
            errors.append(f"{name}: no {key}")
    if d.get("uid") in uids:
        errors.append(f"{name}: uid {d.get('uid')} also used by {uids[d['uid']]}")
    uids[d.get("uid")] = name
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
        errors.append(f"{name}: schemaVersion {d.get('schemaVersion')} (expected >= 36)")
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") == "query" and (v.get("datasource") or {}).get("uid") != uid:
            errors.append(f"{name}: variable {v.get('name')}: datasource uid {(v.get('datasource') or {}).get('uid')!r} is not {uid!r}")
    ids = set()
    group = {"name": f"grafana:{name}", "rules": []}
    for p in panels_of(d.get("panels", [])):
        title = f"{name}: panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            errors.append(f"{title}: duplicate panel id")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            errors.append(f"{title}: no gridPos")
        if p.get("type") in ("row", "text"):
            if p.get("targets"):
                errors.append(f"{title}: a {p.get('type')} panel has queries")
            continue
        titles += 1
        ds = (p.get("datasource") or {}).get("uid")
        if ds != uid:
            errors.append(f"{title}: datasource uid {ds!r} is not the provisioned {uid!r}")
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"{title}: no targets")
        for t in targets:
            where = f"{title} target {t.get('refId')}"
            if "datasource" in t and (t["datasource"] or {}).get("uid") != uid:
                errors.append(f"{where}: datasource uid {(t['datasource'] or {}).get('uid')!r} is not {uid!r}")
            expr = (t.get("expr") or "").strip()
            if not expr:
                errors.append(f"{where}: no expr")
                continue
            for ref in re.findall(r"\b([a-z_]+:[a-z0-9_]+:[a-z0-9_]+)\b", expr):
                if ref not in recorded:
                    errors.append(f"{where}: recording rule {ref} is not defined in {', '.join(rule_files)}")
            record = re.sub(r"[^A-Za-z0-9_]", "_", f"grafana_check:{d.get('uid')}_panel{p.get('id')}_{t.get('refId')}")
            group["rules"].append({"record": record.replace("grafana_check_", "grafana_check:", 1) + ":expr",
                                   "expr": substitute(expr)})
    rules_out.append(group)

with open(exprs_out, "w") as out:
    json.dump({"groups": rules_out}, out, indent=1)  # JSON is YAML
for e in errors:
    print(e)
if not errors:
    print(f"{len(files)} dashboards, {titles} panels on datasource uid {uid!r}")
sys.exit(1 if errors else 0)
PY
}
check "grafana provisioning and dashboards (structure, datasource uid, exprs)" grafana_structure

grafana_promql() {
  [[ -s $tmp/dashboard-exprs.yml ]] || {
    echo "no dashboard expressions were extracted"
    return 1
  }
  "$PROMTOOL" check rules --lint=none "$tmp/dashboard-exprs.yml"
}
check "grafana panel queries parse as PromQL (promtool)" grafana_promql

# --- Warnings: metric names no service source defines (yet) ----------------------------------
unknown_metrics() {
  python3 - "${rule_files[@]}" "${dashboards[@]}" <<'PY'
import glob, re, sys
sources = glob.glob("packages/*/src/**/*.ts", recursive=True) + glob.glob("services/*/src/**/*.ts", recursive=True)
if not sources:
    sys.exit(0)
defined = set()
for s in sources:
    defined |= set(re.findall(r"name:\s*['\"](shop_[a-z0-9_]+)['\"]", open(s, errors="replace").read()))
used = {}
for f in sys.argv[1:]:
    # Raw metric names only: not the middle of a recording rule name (service:shop_x:rate5m).
    for m in re.findall(r"(?<![:\w])(shop_[a-z0-9_]+)(?![:\w])", open(f).read()):
        used.setdefault(m, set()).add(f)
unknown = [m for m in sorted(used) if m not in defined and re.sub(r"_(bucket|count|sum)$", "", m) not in defined]
for m in unknown:
    print(f"WARNING: {m} is not defined in packages/*/src or services/*/src (yet); used in {', '.join(sorted(used[m]))}")
if not unknown:
    print(f"all {len(used)} shop_* metric names used are defined in the source")
PY
}
printf '==> %s\n' "metric names known to the source"
unknown_metrics | sed 's/^/    /'

echo
echo "check-observability summary:"
printf '  %s\n' "${summary[@]}"
if ((failed)); then
  echo "check-observability: FAILED"
  exit 1
fi
echo "check-observability: all checks passed"
