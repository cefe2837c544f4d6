# shellcheck shell=bash
# The deployments' secrets, generated where they are needed and never committed: no compose file
# or manifest of this repository holds a usable one (docs/deployment.md#secrets).
#
# Usage (after `source`):
#   shoplab_k8s_secrets       KEY=VALUE lines of the k8s Secret shoplab-secrets (scripts/kind-up.sh)
#   shoplab_compose_secrets   KEY=VALUE lines of the variables docker-compose.yml requires
#   SHOPLAB_COMPOSE_SECRETS   the names shoplab_compose_secrets prints
# Each value is at least 32 characters (the services' minimum with NODE_ENV=production,
# packages/chassis/src/config.ts); the card key is 32 random bytes, base64 (AES-256).

SHOPLAB_COMPOSE_SECRETS=(ADMIN_TOKEN JWT_SECRET CARD_ENCRYPTION_KEY POSTGRES_PASSWORD GRAFANA_ADMIN_PASSWORD)

shoplab_k8s_secrets() {
  echo "ADMIN_TOKEN=$(openssl rand -hex 24)"
  echo "JWT_SECRET=$(openssl rand -hex 32)"
  echo "CARD_ENCRYPTION_KEY=$(openssl rand -base64 32)"
  echo "DB_PASSWORD=$(openssl rand -hex 24)"
}

shoplab_compose_secrets() {
  echo "ADMIN_TOKEN=$(openssl rand -hex 24)"
  echo "JWT_SECRET=$(openssl rand -hex 32)"
  echo "CARD_ENCRYPTION_KEY=$(openssl rand -base64 32)"
  echo "POSTGRES_PASSWORD=$(openssl rand -hex 24)"
  echo "GRAFANA_ADMIN_PASSWORD=$(openssl rand -hex 24)"
}
