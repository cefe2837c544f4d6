#!/usr/bin/env bash
# The catalog's sidecar on the native stack: nginx (Debian package) beside the catalog process,
# terminating TLS for its gRPC and HTTP ports and writing their access log
# (docs/patterns/sidecar.md, docs/adr/0034-catalog-tls-sidecar.md). Same conventions as
# infra.sh: apt install, config rendered under the state dir, own pid file and log, stop by pid.
#
# usage: infra/local/nginx.sh <up|down|kill|status|env>
#   up      install nginx if missing, make the local CA and the catalog's certificate (once),
#           render the config, start nginx and wait until it answers over TLS
#   down    stop it (SIGQUIT: graceful, in-flight requests finish; SIGKILL after the timeout)
#   kill    crash it: SIGKILL at once to nginx and its workers
#   status  one line: state and addresses
#   env     what a caller needs to reach the catalog through it (SIDECAR_SERVICES, SIDECAR_CA_FILE)
#   install install nginx (apt-get, as root) when it is missing
# Addresses: gRPC 127.0.0.1:9482 (TLS, h2) → catalog 127.0.0.1:9082; HTTP 127.0.0.1:8482 (TLS) → 8082
# (SIDECAR_GRPC_PORT, SIDECAR_HTTP_PORT, SIDECAR_CATALOG_GRPC, SIDECAR_CATALOG_HTTP override them).
# Files: $SHOPLAB_STATE/sidecar/{nginx.conf,tls/}, logs/catalog-sidecar.log (nginx's own),
# logs/catalog-sidecar.access.log (one JSON line per request).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

C=catalog-sidecar
SIDECAR_STATE=$SHOPLAB_STATE/sidecar
SIDECAR_CONF=$SIDECAR_STATE/nginx.conf
SIDECAR_TEMPLATE=$INFRA_DIR/nginx/catalog-sidecar.conf
TLS_DIR=$SIDECAR_STATE/tls
# Its ports and the catalog's; overridable so a test can run its own sidecar beside the stack's
# (with its own SHOPLAB_STATE) in front of its own server.
SIDECAR_GRPC_PORT=${SIDECAR_GRPC_PORT:-9482}
SIDECAR_HTTP_PORT=${SIDECAR_HTTP_PORT:-8482}
CATALOG_GRPC=${SIDECAR_CATALOG_GRPC:-127.0.0.1:9082}
CATALOG_HTTP=${SIDECAR_CATALOG_HTTP:-127.0.0.1:8082}
ACCESS_LOG=$LOG_DIR/catalog-sidecar.access.log

_nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

catalog-sidecar_cmdline_marks() { printf '%s\n' 'nginx' "$SIDECAR_CONF"; }
catalog-sidecar_address() { echo "gRPC https://127.0.0.1:$SIDECAR_GRPC_PORT, HTTP https://127.0.0.1:$SIDECAR_HTTP_PORT (CA $TLS_DIR/ca.pem)"; }
# Ready when nginx answers over TLS, certificate verified (any HTTP status: the catalog behind it may be down).
catalog-sidecar_ready() {
  local code
  code=$(curl -sS -m 2 -o /dev/null -w '%{http_code}' --cacert "$TLS_DIR/ca.pem" "https://127.0.0.1:$SIDECAR_HTTP_PORT/healthz" 2>/dev/null || true)
  [[ -n $code && $code != 000 ]]
}
catalog-sidecar_stop() { stop_pid "$C" QUIT KILL; }

_apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # nginx-light: the smallest Debian build with ssl, http2 and grpc_pass. The package's own
  # service is not used (this script starts nginx with its own config).
  if ! apt-get install -y --no-install-recommends nginx-light; then
    apt-get update
    apt-get install -y --no-install-recommends nginx-light
  fi
}

install_nginx() {
  if [[ -x $(_nginx_bin) ]]; then
    say "$C" "$("$(_nginx_bin)" -v 2>&1 | cut -d: -f2 | tr -d ' ') at $(_nginx_bin) (cached)"
    return 0
  fi
  is_root || die "$C" "nginx missing; install it as root: apt-get install -y --no-install-recommends nginx-light"
  step "$C" "installing Debian package nginx-light (apt-get)" _apt_install
}

# A local CA and the catalog's certificate (names: localhost, catalog, 127.0.0.1), made once.
_make_tls() {
  mkdir -p "$TLS_DIR"
  cd "$TLS_DIR"
  umask 077
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=ShopLab local sidecar CA" -keyout ca.key -out ca.pem
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=catalog" -keyout catalog.key -out catalog.csr
  printf 'subjectAltName=DNS:catalog,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >catalog.ext
  openssl x509 -req -in catalog.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
    -extfile catalog.ext -out catalog.pem
  chmod 644 ca.pem catalog.pem
  rm -f catalog.csr catalog.ext
}

ensure_tls() {
  [[ -s $TLS_DIR/catalog.pem && -s $TLS_DIR/ca.pem ]] && return 0
  step "$C" "making a local CA and the catalog's certificate in $TLS_DIR" _make_tls
}

_render() {
  mkdir -p "$SIDECAR_STATE"/tmp "$LOG_DIR"
  sed -e "s|__SIDECAR_DIR__|$SIDECAR_STATE|g" -e "s|__SIDECAR_ACCESS_LOG__|$ACCESS_LOG|g" \
    -e "s|__SIDECAR_GRPC_PORT__|$SIDECAR_GRPC_PORT|g" -e "s|__SIDECAR_HTTP_PORT__|$SIDECAR_HTTP_PORT|g" \
    -e "s|__CATALOG_GRPC__|$CATALOG_GRPC|g" -e "s|__CATALOG_HTTP__|$CATALOG_HTTP|g" \
    "$SIDECAR_TEMPLATE" | write_if_changed "$SIDECAR_CONF"
  "$(_nginx_bin)" -t -q -c "$SIDECAR_CONF" -e stderr
}

start() {
  case $(proc_state "$C") in
    running)
      already_running "$C"
      return 0
      ;;
    stale) rm -f "$(pid_file "$C")" ;;
  esac
  install_nginx
  ensure_tls
  require_ports_free "$C" "$SIDECAR_GRPC_PORT" "$SIDECAR_HTTP_PORT"
  step "$C" "rendering $SIDECAR_CONF and checking it (nginx -t)" _render
  launch "$C" "$(_nginx_bin)" -c "$SIDECAR_CONF" -e stderr -g 'daemon off;'
  mark_started "$C"
  wait_ready "$C" "$C"_ready
}

# A crash: SIGKILL to nginx's process group (the master and its workers; launch made the master a
# session leader), so no worker is left serving — what a pod's containers see when it dies.
kill_group() {
  local pid
  pid=$(read_pid "$C")
  if [[ -z $pid || $(proc_state "$C") != running ]]; then
    stop_pid "$C" KILL KILL
    return
  fi
  printf '[%s] killing process group %s (SIGKILL) ... ' "$C" "$pid"
  kill -s KILL -- "-$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -z $(port_listeners "$SIDECAR_GRPC_PORT") && -z $(port_listeners "$SIDECAR_HTTP_PORT") ]] && break
    sleep 0.1
  done
  rm -f "$(pid_file "$C")"
  echo killed
}

main() {
  local cmd=${1:-}
  case $cmd in
    up) start ;;
    install) install_nginx ;;
    down) catalog-sidecar_stop ;;
    kill) kill_group ;;
    status)
      local st rc=0
      case $(proc_state "$C") in
        running) if catalog-sidecar_ready; then st=ready; else st="running (not ready)"; fi ;;
        stale) st="stale pid" ;;
        *) st="not running" ;;
      esac
      [[ $st == ready ]] || rc=3
      printf '%-15s %-20s %s\n' "$C" "$st" "$(catalog-sidecar_address)"
      return "$rc"
      ;;
    env)
      echo "SIDECAR_SERVICES=catalog=127.0.0.1:$SIDECAR_GRPC_PORT"
      echo "SIDECAR_CA_FILE=$TLS_DIR/ca.pem"
      ;;
    *)
      sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
}

main "$@"
