# shellcheck shell=bash
# Prometheus (Debian package, 2.42) on 127.0.0.1:9090 with infra/prometheus/prometheus.local.yml.
# Sourced by infra.sh (needs lib.sh).

PROM_HOST=127.0.0.1
PROM_PORT=9090
PROM_TEMPLATE=$INFRA_DIR/prometheus/prometheus.local.yml
PROM_STATE=$SHOPLAB_STATE/prometheus
PROM_CONFIG=$PROM_STATE/prometheus.yml
PROM_DATA=$PROM_STATE/data
PROM_TARGETS=$PROM_STATE/targets

prometheus_ports() { echo "$PROM_PORT"; }
prometheus_address() { echo "http://$PROM_HOST:$PROM_PORT"; }
prometheus_cmdline_marks() { printf '%s\n' "prometheus" "--config.file=$PROM_CONFIG"; }

_prom_bin() { command -v prometheus 2>/dev/null || echo /usr/bin/prometheus; }
_promtool_bin() { command -v promtool 2>/dev/null || echo /usr/bin/promtool; }

_prom_apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # --no-install-recommends: otherwise prometheus-node-exporter comes along and takes :9100.
  if ! apt-get install -y --no-install-recommends prometheus; then
    apt-get update
    apt-get install -y --no-install-recommends prometheus
  fi
}

prometheus_install() {
  if [[ -x $(_prom_bin) && -x $(_promtool_bin) ]]; then
    say prometheus "$("$(_prom_bin)" --version 2>&1 | head -1 | cut -d'(' -f1)at $(_prom_bin) (cached)"
    return 0
  fi
  is_root || die prometheus "prometheus/promtool missing; install them as root: apt-get install -y --no-install-recommends prometheus"
  step prometheus "installing Debian package prometheus (apt-get)" _prom_apt_install
}

_prom_render() {
  mkdir -p "$PROM_TARGETS" "$PROM_DATA"
  render_template "$PROM_TEMPLATE" "$PROM_CONFIG"
  "$(_promtool_bin)" check config "$PROM_CONFIG"
}

# Known owner of 9090: the daemon the Debian package starts. Stop it (it is a system service,
# not a stray process of someone else); anything else is left alone and reported.
prometheus_port_taken() {
  local port=$1 p user debian_pid=""
  [[ -r /run/prometheus/prometheus.pid ]] && read -r debian_pid </run/prometheus/prometheus.pid
  for p in $(port_pids "$port"); do
    user=$(ps -o user= -p "$p" 2>/dev/null | tr -d ' ' || true)
    if [[ $p == "$debian_pid" || ($user == prometheus && $(readlink "/proc/$p/exe" 2>/dev/null) == /usr/bin/prometheus) ]]; then
      if ! is_root; then
        warn prometheus "port $port is held by the Debian prometheus service ($(describe_pid "$p")); stop it as root: service prometheus stop"
        return 1
      fi
      say prometheus "port $port is held by the Debian prometheus service started by the package (pid $p); stopping it: service prometheus stop"
      service prometheus stop || true
      local i
      for ((i = 0; i < 50; i++)); do
        [[ -z $(port_listeners "$port") ]] && return 0
        sleep 0.2
      done
      return 1
    fi
  done
  return 1
}

prometheus_ready() {
  curl -fsS --max-time 2 "http://$PROM_HOST:$PROM_PORT/-/ready" >/dev/null
}

prometheus_start() {
  local st
  st=$(proc_state prometheus)
  if [[ $st == running ]]; then
    already_running prometheus
    return 0
  fi
  [[ $st == stale ]] && { say prometheus "removing stale pid file"; rm -f "$(pid_file prometheus)"; }
  [[ -f $PROM_TEMPLATE ]] || die prometheus "config template $PROM_TEMPLATE is missing"
  require_ports_free prometheus "$PROM_PORT"
  step prometheus "rendering $PROM_CONFIG and checking it with promtool" _prom_render
  launch prometheus "$(_prom_bin)" \
    --config.file="$PROM_CONFIG" \
    --storage.tsdb.path="$PROM_DATA" \
    --storage.tsdb.retention.time=7d \
    --web.listen-address="$PROM_HOST:$PROM_PORT"
  mark_started prometheus
  say prometheus "started pid $(read_pid prometheus) (log: $(log_file prometheus))"
  wait_ready prometheus prometheus_ready
}

prometheus_stop() { stop_pid prometheus TERM KILL; }

prometheus_status() {
  case $(proc_state prometheus) in
    running) if prometheus_ready; then echo ready; else echo "running (not ready)"; fi ;;
    stale) echo "stale pid" ;;
    *) echo "not running" ;;
  esac
}

prometheus_env() {
  echo "export PROMETHEUS_URL=http://$PROM_HOST:$PROM_PORT"
  printf 'export PROMETHEUS_TARGETS_DIR=%q\n' "$PROM_TARGETS"
}
