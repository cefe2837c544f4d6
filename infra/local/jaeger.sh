# shellcheck shell=bash
# Jaeger v2 (all-in-one, in-memory), built from the Go module, config infra/jaeger/config.yaml.
# Sourced by infra.sh (needs lib.sh).

JAEGER_VERSION=v1.76.0 # Go module version; the same commit as Jaeger v2.13.0
JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_HOME=$SHOPLAB_CACHE/jaeger
JAEGER_BIN=$JAEGER_HOME/jaeger-$JAEGER_VERSION
JAEGER_CONFIG=$INFRA_DIR/jaeger/config.yaml
JAEGER_HOST=127.0.0.1
JAEGER_QUERY_PORT=16686
# Every listener in infra/jaeger/config.yaml: OTLP gRPC/HTTP, query HTTP/gRPC, health, metrics.
JAEGER_PORTS=(4317 4318 16686 16685 13133 8888)

jaeger_ports() { echo "${JAEGER_PORTS[*]}"; }
jaeger_address() { echo "http://$JAEGER_HOST:$JAEGER_QUERY_PORT (OTLP http://$JAEGER_HOST:4318, grpc $JAEGER_HOST:4317)"; }
# The binary alone: the config path differs between checkouts of the repo.
jaeger_cmdline_marks() { printf '%s\n' "$JAEGER_BIN"; }

_jaeger_go() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    return 1
  fi
}

_jaeger_build() {
  local go src=$JAEGER_HOME/src tmp
  go=$(_jaeger_go)
  mkdir -p "$src"
  # Only one build at a time (another `infra.sh up` may be building too).
  exec 9>"$JAEGER_HOME/build.lock"
  flock 9
  if [[ -x $JAEGER_BIN ]]; then
    echo "built meanwhile by another process"
    return 0
  fi
  cd "$src" || return 1
  [[ -f go.mod ]] || "$go" mod init shoplab.local/jaeger-tool
  if ! grep -q "^tool $JAEGER_MODULE/cmd/jaeger" go.mod || ! grep -q "$JAEGER_MODULE $JAEGER_VERSION" go.mod; then
    "$go" get -tool "$JAEGER_MODULE/cmd/jaeger@$JAEGER_VERSION"
  fi
  # Build under a temporary name, then rename: an interrupted build never leaves a binary
  # that looks complete.
  tmp=$JAEGER_BIN.tmp.$$
  rm -f "$tmp"
  trap 'rm -f "$tmp"' EXIT
  # -v: each package is logged as it is built, which the progress line counts.
  "$go" build -v -o "$tmp" "$JAEGER_MODULE/cmd/jaeger"
  "$tmp" --help >/dev/null
  mv -f "$tmp" "$JAEGER_BIN"
  trap - EXIT
}

jaeger_install() {
  if [[ -x $JAEGER_BIN ]]; then
    say jaeger "binary $JAEGER_BIN (cached)"
    return 0
  fi
  _jaeger_go >/dev/null || die jaeger "Go is needed to build Jaeger (go on PATH or /usr/local/go/bin/go); not found"
  step jaeger "building Jaeger $JAEGER_VERSION from the Go module proxy (several minutes when cold)" _jaeger_build
}

jaeger_ready() {
  curl -fsS --max-time 2 "http://$JAEGER_HOST:$JAEGER_QUERY_PORT/api/services" >/dev/null
}

jaeger_start() {
  local st
  st=$(proc_state jaeger)
  if [[ $st == running ]]; then
    already_running jaeger
    return 0
  fi
  [[ $st == stale ]] && { say jaeger "removing stale pid file"; rm -f "$(pid_file jaeger)"; }
  [[ -f $JAEGER_CONFIG ]] || die jaeger "config $JAEGER_CONFIG is missing"
  require_ports_free jaeger "${JAEGER_PORTS[@]}"
  launch jaeger "$JAEGER_BIN" --config "$JAEGER_CONFIG"
  mark_started jaeger
  say jaeger "started pid $(read_pid jaeger) (log: $(log_file jaeger))"
  wait_ready jaeger jaeger_ready
}

jaeger_stop() { stop_pid jaeger TERM KILL; }

jaeger_status() {
  case $(proc_state jaeger) in
    running) if jaeger_ready; then echo ready; else echo "running (not ready)"; fi ;;
    stale) echo "stale pid" ;;
    *) echo "not running" ;;
  esac
}

jaeger_env() {
  cat <<EOF
export OTEL_EXPORTER_OTLP_ENDPOINT=http://$JAEGER_HOST:4318
export JAEGER_QUERY_URL=http://$JAEGER_HOST:$JAEGER_QUERY_PORT
EOF
}
