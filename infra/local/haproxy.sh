# shellcheck shell=bash
# The card network's ambassador: HAProxy from Debian (apt-get haproxy) with
# infra/haproxy/card-network-ambassador.cfg, run in the foreground (-db) by pid like the other
# local processes. Sourced by services.sh (needs lib.sh), which starts it right before payment:
# it belongs to payment (the kind overlay runs it as a container in payment's pod), not to the
# shared infrastructure (ADR 36).

HAPROXY_BIN=/usr/sbin/haproxy
AMBASSADOR_CONFIG=$INFRA_DIR/haproxy/card-network-ambassador.cfg
AMBASSADOR_PORT=18090
AMBASSADOR_STATS_PORT=18091
CARD_NETWORK_PORT=8090

_haproxy_apt_install() {
  # Debian's package only; the apt cache lives outside the repo. Its init script is not used.
  if ! apt-get install -y --no-install-recommends haproxy; then
    apt-get update
    apt-get install -y --no-install-recommends haproxy
  fi
}

haproxy_install() {
  if [[ -x $HAPROXY_BIN ]]; then
    return 0
  fi
  is_root || die card-network-ambassador "$HAPROXY_BIN is missing; install it as root: apt-get install -y --no-install-recommends haproxy"
  step card-network-ambassador "installing Debian package haproxy (apt-get)" _haproxy_apt_install
}

card-network-ambassador_cmdline_marks() { printf '%s\n' "$HAPROXY_BIN" "$AMBASSADOR_CONFIG"; }
card-network-ambassador_ready() { curl -fsS -m 2 "http://127.0.0.1:$AMBASSADOR_STATS_PORT/healthz" >/dev/null; }
card-network-ambassador_address() {
  echo "http://127.0.0.1:$AMBASSADOR_PORT -> card-network :$CARD_NETWORK_PORT (stats http://127.0.0.1:$AMBASSADOR_STATS_PORT/stats)"
}
card-network-ambassador_stop() { stop_pid card-network-ambassador TERM KILL; }

card-network-ambassador_start() {
  haproxy_install
  case $(proc_state card-network-ambassador) in
    running)
      already_running card-network-ambassador
      return 0
      ;;
    stale) rm -f "$(pid_file card-network-ambassador)" ;;
  esac
  require_ports_free card-network-ambassador "$AMBASSADOR_PORT" "$AMBASSADOR_STATS_PORT"
  "$HAPROXY_BIN" -c -q -f "$AMBASSADOR_CONFIG" || die card-network-ambassador "$AMBASSADOR_CONFIG is not valid"
  launch card-network-ambassador env \
    AMBASSADOR_BIND="127.0.0.1:$AMBASSADOR_PORT" \
    AMBASSADOR_STATS_BIND="127.0.0.1:$AMBASSADOR_STATS_PORT" \
    CARD_NETWORK_ADDR="127.0.0.1:$CARD_NETWORK_PORT" \
    "$HAPROXY_BIN" -db -f "$AMBASSADOR_CONFIG"
  mark_started card-network-ambassador
  wait_ready card-network-ambassador card-network-ambassador_ready
}
