# ShopLab — every task a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
INFRA := bash infra/local/infra.sh
SERVICES := bash infra/local/services.sh


.PHONY: audit load bench exercises check-refs deploy-check compose-up compose-down images-local compose-check kind-up kind-down
.PHONY: help install proto proto-check prisma build lint format test check up down status logs env clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: ## install node dependencies as locked (npm ci; skipped when unchanged)
	@bash scripts/install.sh

proto: install ## lint proto/ and regenerate packages/contracts
	@bash scripts/proto.sh

proto-check: install ## fail when generated contract code is stale
	@bash scripts/proto.sh --check

prisma: install ## generate the Prisma clients (every prisma.config.ts; also part of build)
	@bash scripts/prisma.sh generate

build: install ## generate Prisma clients, then compile every package and service (tsc -b)
	@npm run --silent build

lint: install ## lint and format check (biome)
	@npm run --silent lint

format: install ## apply biome's formatting and safe fixes
	@npm run --silent format

test: build ## run every test against the running local stack (make up first)
	@bash scripts/test.sh

check: ## THE test command: install, start infra, build, lint, check generated code, run all tests, stop what it started
	@bash scripts/check.sh

up: build ## run the shop: infrastructure (PostgreSQL, Kafka, Jaeger, Prometheus), then every service, on 127.0.0.1
	@$(INFRA) up
	@$(SERVICES) up
	@bash scripts/up-banner.sh

down: ## stop the services, then the infrastructure (only what ShopLab started)
	@$(SERVICES) down
	@$(INFRA) down

status: ## each component's and service's state and address
	@$(INFRA) status; $(SERVICES) status

logs: ## tail the logs (make logs C=kafka, make logs C=order)
	@if [ -n "$(C)" ] && [ -d services/$(C) ]; then $(SERVICES) logs $(C); else $(INFRA) logs $(C); fi

env: ## print the stack's addresses as shell exports
	@$(INFRA) env

clean: ## remove build output
	@npm run --silent clean

check-refs: ## fail when a link, #anchor or § reference does not resolve inside the repository (docs/adr/0018-reference-check.md)
	@node --test --test-reporter=dot scripts/check-references.test.mjs
	@node scripts/check-references.mjs

deploy-check: build ## offline checks of Dockerfile, docker-compose.yml and k8s/ (no Docker needed)
	@bash scripts/deploy-check.sh

compose-up: ## run the shop with Docker Compose (needs Docker; docs/deployment.md)
	@docker compose up --build --wait

compose-down: ## stop the compose stack (keeps volumes; `docker compose down -v` deletes them)
	@docker compose down

images-local: ## build the local images (Debian base, Node, infrastructure, ShopLab's) where no registry can be reached (root; docs/deployment.md#local-images)
	@bash infra/local/images.sh

compose-check: build ## the compose demo for real here: own dockerd, local images, every container healthy; the shopper and observability tests and exercise 2 through them (root; make check runs it)
	@bash infra/local/compose-check.sh

kind-up: ## run the shop on kind: cluster, images, apply, wait (needs Docker, kind, kubectl)
	@bash scripts/kind-up.sh

kind-down: ## delete the kind cluster
	@bash scripts/kind-down.sh

audit: ## check the invariants of docs/reference.md#audit on the running shop (npx shopctl audit)
	@node packages/shopctl/dist/src/cli.js audit

RATE ?= 20
DURATION ?= 60s
load: ## open-loop load on the running shop: browse/cart/checkout mix (make load RATE=20 DURATION=60s; npx shopctl load --help)
	@node packages/shopctl/dist/src/cli.js load --rate $(RATE) --duration $(DURATION)

fuzz: build ## fuzz the gateway's OpenAPI on the running shop: Schemathesis, every check and phase (scripts/fuzz-api.sh)
	@bash scripts/fuzz-api.sh

bench: build ## measure the running shop: P1–P6 of docs/benchmarks.md, recorded there (scripts/bench.sh; needs make up)
	@bash scripts/bench.sh

exercises: build ## break the running shop on purpose: every exercise's check (docs/exercises/), each ending with the audit
	@node packages/shopctl/dist/src/cli.js exercise run all

.PHONY: web-test screenshots
web-test: ## the storefront and the control room in a real browser (Debian's chromium, installed when missing; needs make up)
	@bash services/web/scripts/browser-test.sh

screenshots: ## regenerate docs/web/*.png from the running shop in headless Chromium (needs make up)
	@bash services/web/scripts/browser-test.sh screenshots
