# shellcheck shell=bash
# The deployments' secrets, generated where they are needed and never committed: no compose file
# or manifest of this repository holds a usable one (docs/deployment.md#secrets).
#
# Usage (after `source`):
#   shoplab_k8s_secrets       KEY=VALUE lines of the k8s Secret shoplab-secrets (scripts/kind-up.sh)
#   shoplab_compose_secrets   KEY=VALUE lines of the variables docker-compose.yml requires
#   SHOPLAB_COMPOSE_SECRETS   the names shoplab_compose_secrets prints
#   shoplab_ed25519_pair      one Ed25519 key pair: "<private> <public>", each base64 DER on one line
#   shoplab_key_settings S…   the key settings of a deployment of services S… (below)
# Each value is at least 32 characters (the services' minimum with NODE_ENV=production,
# packages/chassis/src/config.ts); the card key is 32 random bytes, base64 (AES-256).
#
# Keys (docs/architecture.md#trust-boundaries): the user service signs user tokens with
# JWT_PRIVATE_KEY, everyone verifies them with JWT_PUBLIC_KEY; each service signs the credential of
# its gRPC calls with its own key (SERVICE_KEY_<NAME>, given to it as SERVICE_PRIVATE_KEY) and every
# service knows all the public halves (SERVICE_PUBLIC_KEYS). Which services have a key pair comes
# from the table of callers: every workload with a `grpc` row, and every caller in one — so a new
# service gets its key from its row in k8s/allowed-callers.yaml.
shoplab_keyed_services() {
  awk '/^[a-z]/ { top = $1 }
    top == "callers:" && /^  [a-z][a-z0-9-]*:/ { w = $1; sub(/:$/, "", w) }
    top == "callers:" && /^    grpc:/ { print w; sub(/^[^[]*\[/, ""); sub(/\].*$/, ""); gsub(/[ "]/, "");
      n = split($0, c, ","); for (i = 1; i <= n; i++) print c[i] }' \
    "$(dirname "${BASH_SOURCE[0]}")/../../k8s/allowed-callers.yaml" | sort -u
}
mapfile -t SHOPLAB_KEYED_SERVICES < <(shoplab_keyed_services)

SHOPLAB_COMPOSE_SECRETS=(ADMIN_TOKEN JWT_PRIVATE_KEY JWT_PUBLIC_KEY SERVICE_PUBLIC_KEYS CARD_ENCRYPTION_KEY POSTGRES_PASSWORD GRAFANA_ADMIN_PASSWORD)
for _s in "${SHOPLAB_KEYED_SERVICES[@]}"; do SHOPLAB_COMPOSE_SECRETS+=("SERVICE_KEY_${_s^^}"); done
unset _s

shoplab_ed25519_pair() {
  local private
  private=$(openssl genpkey -algorithm ed25519 -outform DER | base64 -w0)
  printf '%s %s\n' "$private" "$(base64 -d <<<"$private" | openssl pkey -inform DER -pubout -outform DER | base64 -w0)"
}

# SERVICE_KEY_<NAME>=<private> per service (dashes become underscores), SERVICE_PUBLIC_KEYS=<name>=<public>,…
# and the user-token pair JWT_PRIVATE_KEY / JWT_PUBLIC_KEY.
shoplab_key_settings() {
  local s private public list=""
  for s in "$@"; do
    read -r private public < <(shoplab_ed25519_pair)
    local var=${s^^}
    echo "SERVICE_KEY_${var//-/_}=$private"
    list+="${list:+,}$s=$public"
  done
  echo "SERVICE_PUBLIC_KEYS=$list"
  read -r private public < <(shoplab_ed25519_pair)
  echo "JWT_PRIVATE_KEY=$private"
  echo "JWT_PUBLIC_KEY=$public"
}

shoplab_k8s_secrets() {
  echo "ADMIN_TOKEN=$(openssl rand -hex 24)"
  echo "CARD_ENCRYPTION_KEY=$(openssl rand -base64 32)"
  echo "DB_PASSWORD=$(openssl rand -hex 24)"
  shoplab_key_settings "${SHOPLAB_KEYED_SERVICES[@]}"
}

shoplab_compose_secrets() {
  echo "ADMIN_TOKEN=$(openssl rand -hex 24)"
  echo "CARD_ENCRYPTION_KEY=$(openssl rand -base64 32)"
  echo "POSTGRES_PASSWORD=$(openssl rand -hex 24)"
  echo "GRAFANA_ADMIN_PASSWORD=$(openssl rand -hex 24)"
  shoplab_key_settings "${SHOPLAB_KEYED_SERVICES[@]}"
}

# The native stack's keys (infra/local/services.sh): a pair per keyed service and the user-token
# pair, as files DIR/<name>.key (private, mode 600) and DIR/<name>.pub, made on first start and
# kept. A service added to the table gets its pair at the next start.
shoplab_ensure_keys() {
  local dir=$1 name private public
  (umask 077 && mkdir -p "$dir")
  for name in "${SHOPLAB_KEYED_SERVICES[@]}" user-token; do
    [[ -s $dir/$name.key && -s $dir/$name.pub ]] && continue
    read -r private public < <(shoplab_ed25519_pair)
    (umask 077 && echo "$private" >"$dir/$name.key" && echo "$public" >"$dir/$name.pub")
  done
}

# KEY=VALUE lines of service S's key settings from the pairs in DIR: its own private key (if it has
# a pair), every service's public key, the user-token public key, and for the user service the
# user-token private key.
shoplab_key_env() {
  local dir=$1 s=$2 f name list=""
  for f in "$dir"/*.pub; do
    name=$(basename "$f" .pub)
    [[ $name == user-token ]] || list+="${list:+,}$name=$(<"$f")"
  done
  echo "SERVICE_PUBLIC_KEYS=$list"
  if [[ -s $dir/$s.key ]]; then echo "SERVICE_PRIVATE_KEY=$(<"$dir/$s.key")"; fi
  echo "JWT_PUBLIC_KEY=$(<"$dir/user-token.pub")"
  if [[ $s == user ]]; then echo "JWT_PRIVATE_KEY=$(<"$dir/user-token.key")"; fi
}
