# syntax=docker/dockerfile:1
# One image recipe for every ShopLab service (docs/adr/0011-one-parametrised-dockerfile.md).
#
#   docker build --build-arg SERVICE=order -t shoplab/order:dev .     a service (user catalog cart payment order history legacy-shipping card-network shipping gateway web)
#   docker build --target migrate -t shoplab/migrate:dev .            Prisma migrations of every schema (one-shot)
#
# Stages:
#   manifests  every package.json + the lock file, nothing else (so npm ci is re-run only when they change)
#   deps       npm ci (dev dependencies too: tsc, the Prisma CLI)
#   build      prisma generate (every prisma.config.ts) + tsc -b of every service + the web bundle; /out = what runtimes need
#   migrate    build + `scripts/prisma.sh migrate deploy` for the schemas in MIGRATE_SERVICES
#   prod-deps  npm ci --omit=dev
#   runtime    (default, last) NODE_IMAGE (node 24, bookworm-slim), prod node_modules, packages/* (chassis, contracts, audit, …) + ONE service
#
# Everything up to the runtime's shared layers is identical for the services: build them one
# after the other and only the last two layers differ (BuildKit reuses the rest).

# The base by tag and digest (docs/adr/0050-images-pinned-by-digest.md); infra/local/images.sh passes its own.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
# The workspaces' manifests at their own paths (COPY cannot glob and keep directories).
RUN mkdir -p /manifests \
 && cp package.json package-lock.json .npmrc /manifests/ \
 && find packages services test -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /manifests/ \;

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY --from=manifests /manifests/ ./
# --ignore-scripts: no install script is needed (Prisma runs with the Wasm engines it ships,
# docs/adr/0004-prisma-offline.md), and @prisma/engines' would download native engines.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts

# ---------------------------------------------------------------------------------------------
FROM deps AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
COPY . .
# `npm run build` = `scripts/prisma.sh generate` + `tsc -b`; the generate step lists schemas with
# `git ls-files`, and a build context has no .git, so the schema folders are passed explicitly.
# Only the services (and the packages they reference: chassis, contracts, audit, …) are compiled; the web
# service's bundle (React, Vite) goes to services/web/dist/ui.
RUN find packages services -name prisma.config.ts -not -path '*/node_modules/*' -printf '%h\0' | sort -z \
   | xargs -0 bash scripts/prisma.sh generate \
 && node_modules/.bin/tsc -b services/*/ \
 && npm run --silent -w services/web build:ui \
 && for d in packages/* services/*; do \
      [ -f "$d/package.json" ] || continue; \
      mkdir -p "/out/$d/dist"; \
      cp "$d/package.json" "/out/$d/"; \
      if [ -d "$d/dist/src" ]; then cp -R "$d/dist/src" "/out/$d/dist/src"; \
      elif [ -d "$d/dist" ]; then cp -R "$d/dist/." "/out/$d/dist/"; fi; \
      if [ -d "$d/dist/ui" ]; then cp -R "$d/dist/ui" "/out/$d/dist/ui"; fi; \
    done \
 && for s in services/*/; do test -f "/out/${s}dist/src/main.js"; done

# ---------------------------------------------------------------------------------------------
# One-shot migrations: the Prisma CLI (a dev dependency) with every schema and migration.
# infra/compose/migrate.sh runs `prisma migrate deploy` for each of MIGRATE_SERVICES (database
# shoplab_<service>) in parallel; compose runs all five, each Kubernetes Deployment its own.
FROM build AS migrate
# DB_PASSWORD comes from the environment (compose, the Kubernetes Secret), never the image.
ENV MIGRATE_SERVICES="user catalog cart payment order history shipping" \
    DB_HOST=postgres DB_PORT=5432 DB_USER=shoplab \
    HOME=/tmp
USER 1000:1000
CMD ["bash", "infra/compose/migrate.sh"]

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Heap and malloc settings of every service (docs/adr/0049-service-memory-lean-telemetry-and-heap-settings.md):
# the same values as scripts/lib/node-memory.sh, which the native stack uses. Kubernetes gets them
# through the image.
ENV NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=4" MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
# Shared by every service image (same content → same layers).
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /out/packages ./packages

# From here on the layers belong to one service.
ARG SERVICE
RUN case "${SERVICE}" in ""|*/*|.*) echo "build with --build-arg SERVICE=<a folder of services/>" >&2; exit 1;; esac
COPY --from=build /out/services/${SERVICE} ./services/${SERVICE}
# HTTP port for the health check when HTTP_PORT is not set: the default of the service's own
# config schema (services/<service>/src/config.ts), so this file holds no port table.
RUN test -f "services/${SERVICE}/dist/src/main.js" \
 && node -e "const {configSchema}=require('./services/${SERVICE}/dist/src/config.js');process.stdout.write(String(configSchema.shape.HTTP_PORT.parse(undefined)))" >/app/http-port \
 && echo "${SERVICE}: default HTTP port $(cat /app/http-port)"
# SERVICE_NAME also names the traces (telemetry reads it before the config is parsed).
ENV SERVICE_NAME=${SERVICE}
# The start command of services/<service>/package.json ("start"), run from the service's folder:
# = node --enable-source-maps --require @shoplab/chassis/telemetry services/<service>/dist/src/main.js
WORKDIR /app/services/${SERVICE}
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
# The application files stay root-owned: the process cannot change its own code.
USER 1000:1000
# The bookworm-slim node image has no curl or wget; node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=process.env.HTTP_PORT||require('fs').readFileSync('/app/http-port','utf8');fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1: the chassis handles SIGTERM (deregister → drain → close → flush telemetry).
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "--require", "@shoplab/chassis/telemetry", "dist/src/main.js"]
