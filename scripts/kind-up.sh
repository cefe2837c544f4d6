#!/usr/bin/env bash
# ShopLab on kind (Kubernetes in Docker): docs/deployment.md "kind".
#
#   scripts/kind-up.sh       create the cluster if missing, build and load the images, apply
#                            k8s/overlays/kind, wait until everything is ready, print the URLs
#   scripts/kind-down.sh     delete the cluster
#
# Needs Docker (running), kubectl, and kind (installed with `go install sigs.k8s.io/kind@$KIND_VERSION`
# when missing and Go is there). Environment:
#   KIND_CLUSTER       cluster name (default shoplab; kubectl context kind-$KIND_CLUSTER)
#   KIND_NODE_IMAGE    node image (default: kind's own for $KIND_VERSION, Kubernetes 1.37)
#   SHOPLAB_SKIP_BUILD=1   load the images already built instead of building them
#   SHOPLAB_KIND_TIMEOUT   how long to wait for the rollout (default 600s)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIND_VERSION=v0.33.0
CLUSTER=${KIND_CLUSTER:-shoplab}
CONTEXT=kind-$CLUSTER
NAMESPACE=shoplab
TIMEOUT=${SHOPLAB_KIND_TIMEOUT:-600s}
SERVICES=(user catalog cart payment order history legacy-shipping card-network shipping gateway web)
OVERLAY=$ROOT/k8s/overlays/kind

say() { echo "[kind-up] $*"; }
die() { echo "[kind-up] ERROR: $*" >&2; exit 1; }
kctl() { kubectl --context "$CONTEXT" -n "$NAMESPACE" "$@"; }

# ---- prerequisites ----------------------------------------------------------------------------
command -v docker >/dev/null || die "docker is needed (Docker Engine or Docker Desktop)"
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer ('docker info'); start it and retry"
command -v kubectl >/dev/null || die "kubectl is needed: https://kubernetes.io/docs/tasks/tools/"
if ! command -v kind >/dev/null; then
  go=$(command -v go || echo /usr/local/go/bin/go)
  [[ -x $go ]] || die "kind is needed: go install sigs.k8s.io/kind@$KIND_VERSION (or https://kind.sigs.k8s.io)"
  say "installing kind $KIND_VERSION with go install"
  "$go" install "sigs.k8s.io/kind@$KIND_VERSION"
  PATH=$("$go" env GOPATH)/bin:$PATH
fi
say "$(kind version)"

# ---- cluster ----------------------------------------------------------------------------------
existed=1
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  existed=0
  say "creating cluster $CLUSTER (host ports 127.0.0.1:8080, 16686, 9090 → NodePorts)"
  args=(create cluster --name "$CLUSTER" --config "$OVERLAY/kind-cluster.yaml" --wait 120s)
  [[ -n ${KIND_NODE_IMAGE:-} ]] && args+=(--image "$KIND_NODE_IMAGE")
  kind "${args[@]}"
fi

# ---- images -----------------------------------------------------------------------------------
images=(shoplab/migrate:dev)
for s in "${SERVICES[@]}"; do images+=("shoplab/$s:dev"); done
if [[ -z ${SHOPLAB_SKIP_BUILD:-} ]]; then
  # The first build compiles everything; the others reuse its layers (docs/adr/0011).
  say "building shoplab/migrate:dev"
  docker build --target migrate -t shoplab/migrate:dev "$ROOT"
  for s in "${SERVICES[@]}"; do
    say "building shoplab/$s:dev"
    docker build --build-arg "SERVICE=$s" -t "shoplab/$s:dev" "$ROOT"
  done
fi
# Through an archive of this machine's platform: `kind load docker-image` fails with "content
# digest not found" when Docker uses the containerd image store (kubernetes-sigs/kind#3795).
archive=$(mktemp "${TMPDIR:-/tmp}/shoplab-images.XXXXXX.tar")
trap 'rm -f "$archive"' EXIT
platform=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')
say "loading ${#images[@]} images into the node ($platform)"
if ! docker image save --platform "$platform" -o "$archive" "${images[@]}" 2>/dev/null; then
  docker image save -o "$archive" "${images[@]}" # Docker < 28 has no --platform here
fi
kind load image-archive "$archive" --name "$CLUSTER"

# ---- secrets ----------------------------------------------------------------------------------
# The manifests hold no Secret (nothing secret is committed): generate shoplab-secrets once per
# cluster, in the cluster only. Kept on later runs: PostgreSQL's volume knows its DB_PASSWORD.
kubectl --context "$CONTEXT" apply -f "$ROOT/k8s/base/namespace.yaml" >/dev/null
if kctl get secret shoplab-secrets >/dev/null 2>&1; then
  # A cluster made before the secrets were generated holds the placeholders k8s/base used to
  # commit, which the services now refuse; PostgreSQL's volume was initialised with them too.
  if kctl get secret shoplab-secrets -o jsonpath='{.data.ADMIN_TOKEN}' | base64 -d | grep -q change-me; then
    die "secret shoplab-secrets holds the old placeholders, which the services refuse: recreate the cluster (bash scripts/kind-down.sh && bash scripts/kind-up.sh)"
  fi
  say "secret shoplab-secrets exists (kept)"
  # A secret made before the services carried keys (or before a service joined the table of
  # callers) lacks some: make the whole set of keys anew and add it (the rollout below restarts
  # every service; user tokens signed with the old key are no longer accepted).
  # shellcheck source=lib/secrets.sh
  source "$ROOT/scripts/lib/secrets.sh"
  missing=""
  for key in JWT_PUBLIC_KEY "${SHOPLAB_KEYED_SERVICES[@]/#/SERVICE_KEY_}"; do
    key=${key^^}
    [[ -n $(kctl get secret shoplab-secrets -o jsonpath="{.data.${key//-/_}}") ]] || missing+=" ${key//-/_}"
  done
  if [[ -n $missing ]]; then
    say "secret shoplab-secrets lacks${missing}: adding a new set of Ed25519 keys"
    patch=$(shoplab_key_settings "${SHOPLAB_KEYED_SERVICES[@]}" |
      awk -F= 'BEGIN { printf "{\"stringData\":{" } { k = $1; v = substr($0, length(k) + 2); printf "%s\"%s\":\"%s\"", (NR > 1 ? "," : ""), k, v } END { printf "}}" }')
    kctl patch secret shoplab-secrets --type merge -p "$patch" >/dev/null
  fi
else
  say "generating secret shoplab-secrets (ADMIN_TOKEN, CARD_ENCRYPTION_KEY, DB_PASSWORD, Ed25519 keys)"
  # shellcheck source=lib/secrets.sh
  source "$ROOT/scripts/lib/secrets.sh"
  # Through a pipe, never a file or the command line.
  shoplab_k8s_secrets | kctl create secret generic shoplab-secrets --from-env-file /dev/stdin \
    --dry-run=client -o yaml | kubectl --context "$CONTEXT" apply -f - >/dev/null
fi

# The catalog sidecar's certificate (k8s/overlays/kind/catalog-sidecar.yaml): a local CA and a
# certificate for the name `catalog`, made once per cluster; the callers verify it with ca.crt.
if kctl get secret catalog-sidecar-tls >/dev/null 2>&1; then
  say "secret catalog-sidecar-tls exists (kept)"
else
  say "generating secret catalog-sidecar-tls (a local CA and the catalog sidecar's certificate)"
  tls=$(mktemp -d)
  (
    cd "$tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=ShopLab kind sidecar CA" -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=catalog" \
      -keyout tls.key -out tls.csr 2>/dev/null
    printf 'subjectAltName=DNS:catalog,DNS:catalog.%s.svc\nextendedKeyUsage=serverAuth\n' "$NAMESPACE" >tls.ext
    openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile tls.ext \
      -out tls.crt 2>/dev/null
  )
  kctl create secret generic catalog-sidecar-tls --from-file="$tls/tls.crt" --from-file="$tls/tls.key" \
    --from-file="$tls/ca.crt" --dry-run=client -o yaml | kubectl --context "$CONTEXT" apply -f - >/dev/null
  rm -rf "$tls"
fi

# ---- apply ------------------------------------------------------------------------------------
# A Job's pod template cannot change: recreate the topic Job (creating topics is idempotent).
kubectl --context "$CONTEXT" delete job -n "$NAMESPACE" kafka-topics --ignore-not-found >/dev/null 2>&1 || true
say "kubectl apply -k k8s/overlays/kind"
kubectl --context "$CONTEXT" apply -k "$OVERLAY"
if ((existed)); then
  # Same tags (:dev), new image contents: restart the services so they run what was just loaded.
  kctl rollout restart deployment -l app.kubernetes.io/component=service
fi

# ---- wait -------------------------------------------------------------------------------------
say "waiting for the rollout (up to $TIMEOUT; the first start pulls postgres, kafka, jaeger, prometheus)"
if ! { kctl rollout status statefulset/postgres --timeout="$TIMEOUT" &&
  kctl rollout status statefulset/kafka --timeout="$TIMEOUT" &&
  kctl wait --for=condition=Available deployment --all --timeout="$TIMEOUT" &&
  kctl wait --for=condition=complete job/kafka-topics --timeout="$TIMEOUT"; }; then
  kctl get pods -o wide >&2 || true
  die "not ready in time; look at: kubectl --context $CONTEXT -n $NAMESPACE describe pod <name> / logs <name> [-c migrate]"
fi
kctl get pods
cat <<EOF

ShopLab is running in kind cluster "$CLUSTER" (namespace $NAMESPACE, context $CONTEXT):
  gateway      http://127.0.0.1:8080/docs        (public API under /api/v1)
  web shop     http://127.0.0.1:8088
  Jaeger UI    http://127.0.0.1:16686
  Prometheus   http://127.0.0.1:9090/targets
  e.g.         curl -s 'http://127.0.0.1:8080/api/v1/products?limit=2'
  admin token  kubectl --context $CONTEXT -n $NAMESPACE get secret shoplab-secrets -o jsonpath='{.data.ADMIN_TOKEN}' | base64 -d
  admin API    kubectl --context $CONTEXT -n $NAMESPACE port-forward svc/gateway 7080:7080   (/api/v1/admin/*: 404 on :8080;
               shopctl and the exercises find it at 127.0.0.1:7080); a service's likewise,
               e.g. svc/order 7085:7085 (user 7081 … card-network 7090)
  logs         kubectl --context $CONTEXT -n $NAMESPACE logs deploy/order [-c migrate]
  stop         bash scripts/kind-down.sh
EOF
