# Mario's Pizzeria. `make run`: the whole stack on this machine. `make test`: every test.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

DATA ?= data
PIZZERIA_API_PORT ?= 8000
PIZZERIA_TEMPORAL_PORT ?= 7233
PIZZERIA_TEMPORAL_UI_PORT ?= 8233
PIZZERIA_TEMPORAL_HTTP_PORT ?= 7243
PIZZERIA_TEMPORAL_METRICS_PORT ?= 7244
PIZZERIA_WORKER_METRICS_PORT ?= 7245
export PIZZERIA_TEMPORAL_ADDRESS ?= 127.0.0.1:$(PIZZERIA_TEMPORAL_PORT)

# The dev server's defaults wait ~40 ms per workflow task here; these flags make it answer in milliseconds.
TEMPORAL_TUNING := \
	--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
	--dynamic-config-value history.transferProcessorMaxPollRPS=1000 \
	--dynamic-config-value history.timerProcessorMaxPollRPS=1000 \
	--dynamic-config-value history.visibilityProcessorMaxPollRPS=1000 \
	--dynamic-config-value system.enableActivityEagerExecution=true

# What ops filter orders by in the UI and CLI (workflows/order_contract.py names them).
SEARCH_ATTRIBUTES := --search-attribute OrderStatus=Keyword --search-attribute OrderTotal=Double \
	--search-attribute Fulfilment=Keyword --search-attribute PaymentMethod=Keyword \
	--search-attribute DeliveryOutcome=Keyword --search-attribute DispatchLate=Bool

.PHONY: install run migrate test test-postgres postgresql chromium nginx bench soak lint token clean

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Payloads are encrypted with a development key made on the first run in $(DATA)/encryption.keys (where a
# worker started by hand finds it too; PIZZERIA_ENCRYPTION_KEYS overrides it). The UI decodes them through
# the API's codec endpoint, which here serves callers on loopback without a token. Order ids of Idempotency-Keys
# are keyed with a secret made there too ($(DATA)/order-id.secret; PIZZERIA_ORDER_ID_SECRET overrides it).
# On a shop without staff accounts the manager mario is made, its password written to $(DATA)/mario.password.
# The dev server here speaks no TLS: Temporal's client configuration of the shell (TEMPORAL_API_KEY, TEMPORAL_TLS_*,
# a profile in ~/.config/temporalio/temporal.toml) is kept from the worker, the API and the CLI's health check.
run: $(STAMP) migrate
	@mkdir -p $(DATA)
	@[ -s $(DATA)/encryption.keys ] || (umask 077; $(BIN)/python -m workflows.payload_codec dev-$$(date +%Y%m%d) > $(DATA)/encryption.keys)
	@[ -s $(DATA)/order-id.secret ] || (umask 077; $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > $(DATA)/order-id.secret)
	@for name in $$(compgen -e TEMPORAL_); do unset $$name; done; export TEMPORAL_CONFIG_FILE=/dev/null; \
	$(BIN)/python -m api.staff_accounts first-manager --password-file $(DATA)/mario.password --quiet
	@for name in $$(compgen -e TEMPORAL_); do unset $$name; done; export TEMPORAL_CONFIG_FILE=/dev/null; \
	export PIZZERIA_ENCRYPTION_KEYS_FILE="$(DATA)/encryption.keys" PIZZERIA_ORDER_ID_SECRET_FILE="$(DATA)/order-id.secret" \
		PIZZERIA_CODEC_LOOPBACK_WITHOUT_TOKEN="$${PIZZERIA_CODEC_LOOPBACK_WITHOUT_TOKEN:-true}" \
		PIZZERIA_WORKER_METRICS_ADDRESS="127.0.0.1:$(PIZZERIA_WORKER_METRICS_PORT)" \
		PIZZERIA_CODEC_CORS_ORIGINS="$${PIZZERIA_CODEC_CORS_ORIGINS:-http://localhost:$(PIZZERIA_TEMPORAL_UI_PORT),http://127.0.0.1:$(PIZZERIA_TEMPORAL_UI_PORT)}"; \
	trap 'kill $$(jobs -p) 2>/dev/null; wait' INT TERM EXIT; \
	$(BIN)/temporal server start-dev --ip 127.0.0.1 \
		--port $(PIZZERIA_TEMPORAL_PORT) --ui-port $(PIZZERIA_TEMPORAL_UI_PORT) \
		--ui-codec-endpoint http://127.0.0.1:$(PIZZERIA_API_PORT)/codec \
		--http-port $(PIZZERIA_TEMPORAL_HTTP_PORT) --metrics-port $(PIZZERIA_TEMPORAL_METRICS_PORT) \
		--db-filename $(DATA)/temporal.db $(SEARCH_ATTRIBUTES) \
		$(TEMPORAL_TUNING) --log-level warn & \
	for _ in $$(seq 300); do $(BIN)/temporal operator cluster health --address $(PIZZERIA_TEMPORAL_ADDRESS) >/dev/null 2>&1 && break; sleep 0.3; done; \
	$(BIN)/python worker.py & \
	$(BIN)/uvicorn api.app:app --host 127.0.0.1 --port $(PIZZERIA_API_PORT) --log-level warning & \
	for _ in $$(seq 300); do curl -fs http://127.0.0.1:$(PIZZERIA_API_PORT)/healthz >/dev/null 2>&1 && break; sleep 0.3; done; \
	echo ""; \
	echo "  Mario's Pizzeria is open."; \
	echo "  API           http://127.0.0.1:$(PIZZERIA_API_PORT)/api/menu"; \
	echo "  API docs      http://127.0.0.1:$(PIZZERIA_API_PORT)/docs"; \
	echo "  Temporal UI   http://127.0.0.1:$(PIZZERIA_TEMPORAL_UI_PORT)"; \
	if [ -n "$${PIZZERIA_ENCRYPTION_KEYS:-}" ]; then echo "  Payloads      encrypted with the keys in PIZZERIA_ENCRYPTION_KEYS"; \
	else echo "  Payloads      encrypted with the dev key in $(DATA)/encryption.keys"; fi; \
	echo "  Codec server  http://127.0.0.1:$(PIZZERIA_API_PORT)/codec (the UI decodes payloads through it;"; \
	if [ "$$PIZZERIA_CODEC_LOOPBACK_WITHOUT_TOKEN" = true ]; then \
		echo "                callers on loopback need no token here: development only)"; \
	else echo "                a staff token is required)"; fi; \
	echo "  Metrics       API http://127.0.0.1:$(PIZZERIA_API_PORT)/metrics, worker http://127.0.0.1:$(PIZZERIA_WORKER_METRICS_PORT)/metrics,"; \
	echo "                Temporal http://127.0.0.1:$(PIZZERIA_TEMPORAL_METRICS_PORT)/metrics"; \
	if [ -z "$${PIZZERIA_JWT_SECRET:-}" ]; then echo "  JWT secret    the built-in dev secret (set PIZZERIA_JWT_SECRET in production)"; fi; \
	$(BIN)/python -m api.staff_accounts first-manager --password-file $(DATA)/mario.password \
		--login-url http://127.0.0.1:$(PIZZERIA_API_PORT)/login; \
	echo "  Staff token   $$($(BIN)/python -m api.auth --sub mario --roles kitchen,manager)"; \
	echo "                (kitchen + manager, 12 h, for scripts; mint another: $(BIN)/python -m api.auth --help)"; \
	echo "  A worker that stops can be started again with: $(BIN)/python worker.py"; \
	echo "  Ctrl-C stops everything."; \
	echo ""; \
	wait

# The database at PIZZERIA_DATABASE_URL (default data/pizzeria.db) brought to the code's schema; the worker and
# the API refuse to start on one that is behind.
migrate: $(STAMP)
	$(BIN)/alembic upgrade head

# Every test on SQLite (the store's own tests run on SQLite and PostgreSQL alike), then the end-to-end tests
# again with PostgreSQL as every test database.
test: $(STAMP) postgresql chromium nginx
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest
	PIZZERIA_TEST_DATABASE=postgresql $(BIN)/python -m pytest tests/e2e

# The whole suite with PostgreSQL as every test database.
test-postgres: $(STAMP) postgresql chromium nginx
	PIZZERIA_TEST_DATABASE=postgresql $(BIN)/python -m pytest

# The store's tests also run against a real PostgreSQL server, started by the tests themselves.
postgresql:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# A test opens the Temporal UI in a real browser: Debian's Chromium (Playwright's own download cannot run here).
chromium:
	@command -v chromium >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The tests reach Temporal through TLS, mTLS and an API key with nginx in front of their dev server.
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }

# ~1,000 whole orders through the API at 20/s against a bare Temporal workflow of the saga's shape on the same
# server, and 500 orders offered at once (~8 min); the figures in data/bench.json, a latency plot in data/bench.png.
bench: $(STAMP)
	@mkdir -p data
	$(BIN)/python -m tools.bench --orders 1000 --rate 20 --out data/bench.json

# Many orders at once through the API (completed, cancelled in every cancellable status, declined, card and
# cash), then every workflow, charge, refund, stored row and the revenue reconciled against the plan.
# `make soak ORDERS=10000 CONCURRENCY=100`; exits non-zero on any mismatch.
ORDERS ?= 3000
CONCURRENCY ?= 60
soak: $(STAMP)
	$(BIN)/python -m tests.load.reconcile --orders $(ORDERS) --concurrency $(CONCURRENCY)

# 300 orders against tight stock (make test runs 60 of them); PIZZERIA_TEST_DATABASE=postgresql for PostgreSQL.
.PHONY: soak-stock
soak-stock: $(STAMP)
	PIZZERIA_STOCK_LOAD_ORDERS=300 $(BIN)/python -m pytest -q tests/load/test_stock_reconciliation.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

token: $(STAMP)
	@$(BIN)/python -m api.auth --sub mario --roles kitchen,manager

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .import_linter_cache
