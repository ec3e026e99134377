# tongxin — the two commands a newcomer needs:
#   make run    the whole pipeline on embedded defaults (Ctrl-C stops it)
#   make test   starts the real engines (Kafka, ClickHouse engine), runs every test, stops them
SHELL := /bin/bash
GO ?= go

.PHONY: run test build bench engines-up engines-down tools

build:
	$(GO) build -o bin/tongxin ./cmd/tongxin

run: build
	./bin/tongxin run $(ARGS)

# Prometheus's promtool (Debian package) for the alert-rule tests.
tools:
	@command -v promtool >/dev/null || { echo "installing Debian's prometheus package for promtool" >&2; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null); }

test: build tools
	@set -euo pipefail; \
	trap 'deploy/local/engines down >&2' EXIT; \
	engines=$$(deploy/local/engines up); \
	eval "$$(sed -n 's/^\(KAFKA\|CLICKHOUSE\)=/export TONGXIN_TEST_\1=/p' <<<"$$engines")"; \
	echo "engines: kafka $$TONGXIN_TEST_KAFKA, clickhouse $$(sed 's#//\([^:/@]*\):[^@]*@#//\1:xxxxx@#' <<<"$$TONGXIN_TEST_CLICKHOUSE")" >&2; \
	$(GO) vet ./... && $(GO) test -count=1 -timeout 40m ./...

bench: build
	@set -euo pipefail; \
	trap 'deploy/local/engines down >&2' EXIT; \
	engines=$$(deploy/local/engines up); \
	eval "$$(sed -n 's/^\(KAFKA\|CLICKHOUSE\)=/export TONGXIN_TEST_\1=/p' <<<"$$engines")"; \
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

engines-up:
	deploy/local/engines up

engines-down:
	deploy/local/engines down
