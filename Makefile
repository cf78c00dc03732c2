# The two commands: `make run` and `make test`. Each provisions what it needs (see README).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
DEV_DB ?= heritage
TEST_DB ?= heritage_test
STAMP := $(VENV)/.installed
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

.PHONY: run test install db translations bench lint extract-messages

$(STAMP): pyproject.toml scripts/ensure-python.sh
	scripts/ensure-python.sh
	touch $@

install: $(STAMP) translations

translations: $(MO_FILES)

# Northern Sami is compiled with its fuzzy entries: they are machine drafts shown to readers while
# a native speaker reviews them (docs/languages.md). Nynorsk and Bokmål ship reviewed entries only;
# a fuzzy or missing one falls back to Bokmål.
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d translations -l $* $(if $(filter se,$*),--use-fuzzy)

db:
	scripts/ensure-postgis.sh $(DEV_DB)

# Rate limits are shared by the two workers only in Redis: the local one is used when it answers
# (scripts/ensure-redis.sh starts one if it can) and REDIS_URL is not set already.
run: install db
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	-@scripts/ensure-redis.sh
	@if [ -z "$$REDIS_URL" ] && $(BIN)/python -c "import redis; redis.Redis(socket_connect_timeout=0.5).ping()" 2>/dev/null; then \
	  export REDIS_URL=redis://127.0.0.1:6379/0; \
	fi; \
	if [ -n "$$REDIS_URL" ]; then echo "Rate limits in Redis at $$REDIS_URL"; \
	else echo "No Redis answers: each worker counts rate limits on its own"; fi; \
	export HERITAGE_BASE_URL=$${HERITAGE_BASE_URL:-http://127.0.0.1:$(PORT)}; \
	echo "Serving on http://127.0.0.1:$(PORT)"; \
	exec $(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --no-control-socket wsgi:app

test: install
	scripts/ensure-postgis.sh
	scripts/ensure-redis.sh
	scripts/ensure-gdal.sh
	scripts/ensure-chromium.sh
	scripts/ensure-nginx.sh
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check app geo tests

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

bench: install
	QUICK=$(QUICK) BENCH_JSON=$(BENCH_JSON) scripts/bench.sh
