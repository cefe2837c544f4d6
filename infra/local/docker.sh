#!/usr/bin/env bash
# A Docker engine of ShopLab's own (Debian's docker.io: dockerd 20.10, containerd, runc), for the
# compose demo on a machine without Docker Desktop. Image registries need not be reachable: the
# images come from infra/local/images.sh.
#
# usage: infra/local/docker.sh <command>
#   install  apt-get docker.io (+ debootstrap for the base image), and build Docker Compose v2
#            from the Go module proxy (cached under $SHOPLAB_CACHE/compose)
#   up       install the engine when missing (not Compose), then start dockerd as root with its own data root, exec root, pid file and unix socket
#            under $SHOPLAB_STATE/docker (log: $SHOPLAB_STATE/logs/docker.log); wait until it answers
#   down     stop the dockerd this script started (by its pid; never by process name)
#   status   "ready", "not running", "stale pid" or "running (not ready)"; exit 3 unless ready
#   env      print `export` lines for our daemon:  eval "$(infra/local/docker.sh env)"
#            DOCKER_HOST (our socket), SHOPLAB_DOCKER (the 20.10 client that matches the daemon),
#            SHOPLAB_COMPOSE (Compose v2, or Debian's docker-compose v1 when v2 could not be built)
#
# It never talks to, stops or reconfigures a Docker daemon it did not start: every command goes
# to the socket under $SHOPLAB_STATE/docker. Two daemons cannot both own the default bridge
# (docker0); `up` refuses to start while another daemon answers on /var/run/docker.sock.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

# Compose v2 from the Go module proxy: the same module Docker publishes its binaries from.
COMPOSE_VERSION=v2.40.3
COMPOSE_MODULE=github.com/docker/compose/v2
COMPOSE_HOME=$SHOPLAB_CACHE/compose
COMPOSE_BIN=$COMPOSE_HOME/docker-compose-$COMPOSE_VERSION

DOCKER_DIR=$SHOPLAB_STATE/docker
DOCKER_SOCK=$DOCKER_DIR/docker.sock
DOCKER_DATA=$DOCKER_DIR/data
DOCKER_EXEC=$DOCKER_DIR/exec
DOCKER_PIDFILE=$DOCKER_DIR/dockerd.pid
# Debian's client (20.10) matches the daemon and has BuildKit built in (`RUN --mount`) without the
# buildx plug-in; a newer client on PATH may not build with BuildKit against this daemon.
DOCKER_CLI=/usr/bin/docker

docker_cmdline_marks() { printf '%s\n' dockerd "$DOCKER_SOCK"; }
docker_address() { echo "unix://$DOCKER_SOCK"; }

docker_ready() { DOCKER_HOST=unix://$DOCKER_SOCK "$DOCKER_CLI" version >/dev/null 2>&1; }

# ---------------------------------------------------------------- install

# make check installs this in the background while other steps may run apt-get too: wait for
# dpkg's lock instead of failing on it.
APT_GET=(apt-get -o DPkg::Lock::Timeout=600)

_docker_apt() {
  export DEBIAN_FRONTEND=noninteractive
  "${APT_GET[@]}" install -y --no-install-recommends docker.io debootstrap ca-certificates \
    || { "${APT_GET[@]}" update && "${APT_GET[@]}" install -y --no-install-recommends docker.io debootstrap ca-certificates; }
  dockerd --version
}

_docker_go() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    return 1
  fi
}

# Builds Compose v2 in a small tool module (like infra/local/jaeger.sh builds Jaeger): `go get
# -tool` resolves the module's requirements, `go build` makes the one binary.
_compose_build() {
  local go src=$COMPOSE_HOME/src tmp
  go=$(_docker_go)
  mkdir -p "$src"
  exec 9>"$COMPOSE_HOME/build.lock"
  flock 9
  if [[ -x $COMPOSE_BIN ]]; then
    echo "built meanwhile by another process"
    return 0
  fi
  cd "$src" || return 1
  [[ -f go.mod ]] || "$go" mod init shoplab.local/compose-tool
  if ! grep -q "^tool $COMPOSE_MODULE/cmd" go.mod || ! grep -q "$COMPOSE_MODULE $COMPOSE_VERSION" go.mod; then
    "$go" get -tool "$COMPOSE_MODULE/cmd@$COMPOSE_VERSION"
  fi
  tmp=$COMPOSE_BIN.tmp.$$
  rm -f "$tmp"
  trap 'rm -f "$tmp"' EXIT
  "$go" build -v -trimpath -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" -o "$tmp" "$COMPOSE_MODULE/cmd"
  "$tmp" version
  mv -f "$tmp" "$COMPOSE_BIN"
  trap - EXIT
}

# The Compose to use: v2 when built, else Debian's v1 (docker-compose 1.29).
compose_bin() {
  if [[ -x $COMPOSE_BIN ]]; then
    echo "$COMPOSE_BIN"
  elif command -v docker-compose >/dev/null 2>&1; then
    command -v docker-compose
  else
    return 1
  fi
}

docker_engine_install() {
  is_root || die docker "run as root: dockerd needs root here (and apt-get installs it)"
  if command -v dockerd >/dev/null 2>&1 && [[ -x $DOCKER_CLI ]] && command -v debootstrap >/dev/null 2>&1; then
    say docker "$(dockerd --version) (installed)"
  else
    step docker "apt-get install docker.io debootstrap" _docker_apt
  fi
}

docker_compose_install() {
  if [[ -x $COMPOSE_BIN ]]; then
    say docker "Compose $COMPOSE_BIN (cached)"
  elif ! _docker_go >/dev/null; then
    warn docker "Go not found: cannot build Compose v2; falling back to Debian's docker-compose v1"
  elif ! (step docker "building Docker Compose $COMPOSE_VERSION from the Go module proxy (minutes when cold)" _compose_build); then
    warn docker "Compose v2 did not build (see $LOG_DIR/docker.setup.log); falling back to Debian's docker-compose v1"
  fi
  if [[ ! -x $COMPOSE_BIN ]] && ! command -v docker-compose >/dev/null 2>&1; then
    step docker "apt-get install docker-compose (Compose v1)" "${APT_GET[@]}" install -y --no-install-recommends docker-compose
  fi
}

# ---------------------------------------------------------------- run

docker_start() {
  local st
  is_root || die docker "run as root: dockerd needs root here"
  command -v dockerd >/dev/null 2>&1 || die docker "dockerd not installed; run: infra/local/docker.sh install"
  st=$(proc_state docker)
  if [[ $st == running ]]; then
    say docker "already running (pid $(read_pid docker)) on $(docker_address)"
    docker_ready || wait_ready docker docker_ready nostop
    return 0
  fi
  [[ $st == stale ]] && { say docker "removing stale pid file"; rm -f "$(pid_file docker)"; }
  # Another daemon on the standard socket would share the docker0 bridge and its addresses with
  # ours. (A docker0 left behind by a stopped daemon, ours included, is simply reused.)
  if [[ -S /var/run/docker.sock ]] && "$DOCKER_CLI" -H unix:///var/run/docker.sock version >/dev/null 2>&1; then
    die docker "another Docker daemon answers on /var/run/docker.sock; not touching it, and not starting a second one beside it (they would share the docker0 bridge) — use that one, or stop it first"
  fi
  mkdir -p "$DOCKER_DATA" "$DOCKER_EXEC"
  rm -f "$DOCKER_SOCK" "$DOCKER_PIDFILE"
  launch docker dockerd \
    --data-root "$DOCKER_DATA" \
    --exec-root "$DOCKER_EXEC" \
    --pidfile "$DOCKER_PIDFILE" \
    --host "unix://$DOCKER_SOCK" \
    --storage-driver overlay2
  mark_started docker
  wait_ready docker docker_ready
}

docker_stop() { stop_pid docker; }

docker_status() {
  case $(proc_state docker) in
    running) if docker_ready; then echo ready; else echo "running (not ready)"; fi ;;
    stale) echo "stale pid" ;;
    *) echo "not running" ;;
  esac
}

docker_env() {
  local compose
  compose=$(compose_bin || true)
  echo "export DOCKER_HOST=unix://$DOCKER_SOCK"
  echo "export SHOPLAB_DOCKER=$DOCKER_CLI"
  echo "export SHOPLAB_COMPOSE=${compose:-docker-compose}"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

main() {
  local cmd=${1:-} st
  (($#)) && shift
  case $cmd in
    install)
      docker_engine_install
      docker_compose_install
      ;;
    up)
      docker_engine_install
      docker_start
      ;;
    down) docker_stop ;;
    status)
      st=$(docker_status)
      printf '%-11s %-20s %s\n' docker "$st" "$(docker_address)"
      [[ $st == ready ]] || return 3
      ;;
    env) docker_env ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
