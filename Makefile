# ShopLab — every task a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
INFRA := bash infra/local/infra.sh


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

up: install ## start the local stack (PostgreSQL, Kafka, Jaeger, Prometheus) natively on 127.0.0.1
	@$(INFRA) up
	@bash scripts/up-banner.sh

down: ## stop what `make up` started
	@$(INFRA) down

status: ## each component's state and address
	@$(INFRA) status

logs: ## tail the local stack's logs (make logs C=kafka for one)
	@$(INFRA) logs $(C)

env: ## print the stack's addresses as shell exports
	@$(INFRA) env

clean: ## remove build output
	@npm run --silent clean
