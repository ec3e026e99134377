# tongxin — the two commands a newcomer needs:
#   make run    the whole pipeline on embedded defaults (Ctrl-C stops it)
#   make test   starts the real engines (Kafka, ClickHouse engine), runs every test, stops them
# and, while editing:
#   make test-short   the tests that need no engine, in seconds
#   make fuzz         every Go fuzz target for FUZZTIME (make test runs it too)
SHELL := /bin/bash
GO ?= go

.PHONY: run test test-short fuzz build bench engines-up engines-down tools eval-alerts validate-deploy dashboards

FUZZTIME ?= 8s

build:
	$(GO) build -o bin/tongxin ./cmd/tongxin

run: build
	./bin/tongxin run $(ARGS)

# The Grafana dashboards and provisioning, regenerated into the committed copy
# (dashboards/generated; a test fails when it is out of date).
dashboards:
	$(GO) run ./cmd/tongxin dashboards --out dashboards/generated

# Debian packages the tests need: prometheus (promtool) for the alert-rule
# tests; chromium, fonts-noto-cjk and poppler-utils (pdftoppm, pdftotext) for
# the report's PDF and PNG and their tests. Quick when all are installed.
tools:
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -q 'Noto Sans CJK' || missing="$$missing fonts-noto-cjk"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing" >&2; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null); fi

test: build tools
	@set -euo pipefail; \
	trap 'deploy/local/engines down >&2' EXIT; \
	engines=$$(deploy/local/engines up); \
	eval "$$(sed -n 's/^\(KAFKA\|CLICKHOUSE\)=/export TONGXIN_TEST_\1=/p' <<<"$$engines")"; \
	echo "engines: kafka $$TONGXIN_TEST_KAFKA, clickhouse $$(sed 's#//\([^:/@]*\):[^@]*@#//\1:xxxxx@#' <<<"$$TONGXIN_TEST_CLICKHOUSE")" >&2; \
	$(GO) vet ./... && $(GO) test -count=1 -timeout 40m ./...
	@$(MAKE) --no-print-directory validate-deploy
	@$(MAKE) --no-print-directory fuzz

# deploy/compose and deploy/kubernetes checked offline (compose-go, kustomize,
# k8s.io/api): a module of its own, so that its dependencies stay out of
# tongxin's build; no engines, no network once modules are fetched.
validate-deploy:
	cd deploy/validate && $(GO) vet ./... && $(GO) test -count=1 ./...

test-short:
	$(GO) test -short -count=1 ./...

# Each fuzz target runs on its seed corpus in every `go test`; here each also
# explores for FUZZTIME. A failure leaves its input under testdata/fuzz. Go's
# fuzzer reports "context deadline exceeded" when FUZZTIME ends while it is
# minimizing a new input; without a failing input written that is no finding.
fuzz:
	@set -euo pipefail; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/^func //'); do \
	    echo "fuzz $$dir $$f ($(FUZZTIME))"; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$dir >/tmp/tongxin-fuzz.log 2>&1; then \
	      if ! grep -q 'Failing input written to' /tmp/tongxin-fuzz.log && grep -q 'context deadline exceeded' /tmp/tongxin-fuzz.log; then \
	        echo "fuzz $$dir $$f: time ran out while minimizing a new input (no failing input found)"; \
	      else cat /tmp/tongxin-fuzz.log; echo "fuzz $$dir $$f FAILED"; exit 1; fi; \
	    fi; \
	  done; \
	done

bench: build
	@set -euo pipefail; \
	trap 'deploy/local/engines down >&2' EXIT; \
	engines=$$(deploy/local/engines up); \
	eval "$$(sed -n 's/^\(KAFKA\|CLICKHOUSE\)=/export TONGXIN_TEST_\1=/p' <<<"$$engines")"; \
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

# The alerts' precision and recall through the whole pipeline: `tongxin run`
# for five campaign days per seed (about 4 wall minutes each at the default
# speed), scored against the simulator's truth (internal/e2e/alertquality_test.go).
# The defaults were tuned on seeds 101–105, 201–205 and (viral) 301–305;
# EVAL_SEEDS are ones they were not.
EVAL_SEEDS ?= 401,402,403,404,405
EVAL_SPEED ?= 2000
eval-alerts:
	TONGXIN_EVAL_ALERTS_SEEDS=$(EVAL_SEEDS) TONGXIN_EVAL_ALERTS_SPEED=$(EVAL_SPEED) TONGXIN_EVAL_ALERTS_MIN=0.8,0.9 \
	  $(GO) test -count=1 -timeout 90m -run '^TestAlertQuality$$' -v ./internal/e2e

engines-up:
	deploy/local/engines up

engines-down:
	deploy/local/engines down
