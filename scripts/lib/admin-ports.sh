# shellcheck shell=bash
# The local stack's admin listeners: ADMIN_PORT of each service process (its /admin/…, /v1/admin/…
# and /api/v1/admin/… routes answer there only, 404 on its HTTP port;
# docs/architecture.md#trust-boundaries), on 127.0.0.1. 7080 and the HTTP port's last digits;
# shopctl's defaults are the same (LOCAL_ADMIN_PORTS in packages/shopctl/src/api.ts). The web has
# none: the control room's /api/v1/admin/* is a proxy the browser reaches on its one port.
#
# Usage (after `source`): ${SHOPLAB_ADMIN_PORT[order]}
#   shoplab_admin_services   ADMIN_SERVICES of a gateway on the local stack: where it forwards
#                            chaos and reads the audit (its downstreams' admin listeners)
declare -gA SHOPLAB_ADMIN_PORT=([gateway]=7080 [user]=7081 [catalog]=7082 [cart]=7083 [payment]=7084
  [order]=7085 [history]=7086 [shipping]=7087 [legacy-shipping]=7089 [card-network]=7090)

shoplab_admin_services() {
  local s list=()
  for s in user catalog cart payment order; do list+=("$s=127.0.0.1:${SHOPLAB_ADMIN_PORT[$s]}"); done
  (IFS=, && echo "${list[*]}")
}
