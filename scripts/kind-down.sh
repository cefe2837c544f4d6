#!/usr/bin/env bash
# Deletes the kind cluster of scripts/kind-up.sh (and with it everything ShopLab ran there).
#   scripts/kind-down.sh [--images]     --images also removes the shoplab/*:dev images from Docker
# KIND_CLUSTER: cluster name (default shoplab).
set -euo pipefail
CLUSTER=${KIND_CLUSTER:-shoplab}
SERVICES=(user catalog cart payment order history legacy-shipping card-network shipping gateway)

say() { echo "[kind-down] $*"; }
command -v kind >/dev/null || { say "kind is not installed: nothing to delete"; exit 0; }

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  say "deleting kind cluster $CLUSTER"
  kind delete cluster --name "$CLUSTER"
else
  say "no kind cluster named $CLUSTER"
fi

if [[ ${1:-} == --images ]]; then
  images=(shoplab/migrate:dev)
  for s in "${SERVICES[@]}"; do images+=("shoplab/$s:dev"); done
  say "removing images ${images[*]}"
  docker image rm "${images[@]}" 2>/dev/null || true
fi
