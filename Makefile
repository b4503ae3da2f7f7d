# OpenAgg. `make run` starts everything locally on the embedded default;
# `make test` runs every test (and .ci/run calls exactly that).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/openagg/openagg/internal/platform.Version=$(VERSION)
# sam build runs a plain `go build` per function (BuildMethod go1.x) in this
# environment, setting only GOOS and GOARCH: GOFLAGS gives it the same tags
# and linker flags as make build, and CGO_ENABLED=0 a static binary even on
# an arm64 build host (where cgo would otherwise link the host's glibc).
SAM_GOFLAGS := -tags=lambda.norpc '-ldflags=$(LDFLAGS)'
SAM_ENV   := CGO_ENABLED=0 GOFLAGS="$(SAM_GOFLAGS)"
FUNCTIONS := $(notdir $(wildcard functions/*))
TEST_TIMEOUT ?= 15m
BENCHTIME ?= 1s
FUZZTIME  ?= 30s
# make test's short fuzzing pass: each target for this long.
TEST_FUZZTIME ?= 1s
SOAKTIME  ?= 20s
FUNCTION  ?=
FN        ?= $(FUNCTION)
EVENT     ?=
SCALEOUT_DAYS ?= 0

.PHONY: help run test scaleout faults moto browser lint build bench soak fuzz invoke template deploy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## start every API group, the workers and the scheduler on the embedded default
	$(GO) run -ldflags "-X github.com/openagg/openagg/internal/platform.Version=$(VERSION)" ./cmd/openagg serve

test: moto browser ## go mod tidy check, vet, every test (cfn-lint of the SAM template and the DynamoDB/SQS drivers against moto included), then a short pass of every fuzz target
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy" >&2; $(GO) mod tidy -diff; exit 1; }
	$(GO) vet ./...
	@GO=$(GO) TEST_TIMEOUT=$(TEST_TIMEOUT) scripts/gotest.sh
	@echo "short fuzzing pass: every fuzz target for $(TEST_FUZZTIME), two at a time (make fuzz for the long run)"
	@GO=$(GO) FUZZTIME=$(TEST_FUZZTIME) FUZZJOBS=2 FUZZMINIMIZETIME=100x FUZZCACHE=fresh scripts/fuzz.sh

# Each part in a test binary of its own: a fresh moto for each measurement.
scaleout: moto ## the heavy scale-out run: serve processes on moto, the whole big bank with a SIGKILL, throughput with one and three processes
	$(GO) test -run '^TestScaleOut$$/^one_process$$' -v -timeout 30m ./cmd/openagg -args -scaleout.full -scaleout.days=$(SCALEOUT_DAYS)
	$(GO) test -run '^TestScaleOut$$/^three_processes$$' -v -timeout 30m ./cmd/openagg -args -scaleout.full -scaleout.days=$(SCALEOUT_DAYS)
	$(GO) test -run '^TestScaleOut$$/journey' -v -timeout 30m ./cmd/openagg -args -scaleout.full -scaleout.days=$(SCALEOUT_DAYS)

faults: moto ## the heavier fault-injection run: a month of the big bank imported on moto under injected DynamoDB throttles, 500s and timeouts, with every stored-data check
	$(GO) test -run '^TestImportUnderFaults$$' -v -count=1 ./internal/holdings -args -faults.full
	$(GO) test -run 'UnderFaults$$|^TestEachKindIsAbsorbed$$|^TestLastingFaultReachesTheCaller$$' -v -count=1 ./internal/bank ./internal/connection ./internal/store/dynamo/dynamofault

moto: ## make sure moto_server (AWS driver tests) and cfn-lint (template test) are available
	@if command -v moto_server >/dev/null 2>&1; then echo "moto_server: $$(command -v moto_server)"; \
	else echo "moto_server not found, trying: pip install 'moto[server]'"; \
	  pip install --quiet 'moto[server]' || echo "WARNING: moto_server unavailable: AWS driver tests will skip (and fail under CI=true)" >&2; fi
	@if command -v cfn-lint >/dev/null 2>&1; then echo "cfn-lint: $$(command -v cfn-lint)"; \
	else echo "cfn-lint not found, trying: pip install cfn-lint"; \
	  pip install --quiet cfn-lint || echo "WARNING: cfn-lint unavailable: template.yaml is not linted (a failure under CI=true)" >&2; fi

browser: ## make sure a headless Chromium is available for the connect page's browser tests (apt-get install chromium when missing)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || [ -n "$${CHROMIUM:-}" ]; then \
	  echo "chromium: $$(command -v chromium || command -v chromium-browser || command -v google-chrome || echo $$CHROMIUM)"; \
	else echo "chromium not found, trying: apt-get install chromium"; \
	  { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	    { $$SUDO apt-get update >/dev/null 2>&1 && $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }; } || \
	  echo "WARNING: chromium unavailable: the browser tests will skip (and fail under CI=true)" >&2; fi

lint: ## gofmt check, go vet, staticcheck
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

build: ## build every function for Lambda (linux/arm64) into bin/<name>/bootstrap
	@for fn in $(FUNCTIONS); do \
	  echo "build $$fn"; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath \
	    -ldflags '$(LDFLAGS)' -o bin/$$fn/bootstrap ./functions/$$fn; \
	done
	@for fn in $(FUNCTIONS); do stat -c '%s %n' bin/$$fn/bootstrap; done | awk '{printf "  %-34s %6.1f MB\n", $$2, $$1/1048576}'

bench: ## run the benchmarks (BENCHTIME=1s by default; the scenario benchmarks run once)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

soak: ## sustained mixed load on every API group through serve for SOAKTIME (default 20s): req/s, p50/p99 per group, errors, heap and goroutines before and after
	$(GO) test -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -timeout 30m ./cmd/openagg -args -soak.duration $(SOAKTIME)

fuzz: ## run every Go fuzz target for FUZZTIME each (default 30s; make test replays their corpora and fuzzes each for TEST_FUZZTIME)
	@GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

invoke: ## run one function on an event: make invoke FN=system EVENT=events/system/health.json (sam local invoke if sam and Docker work, else in-process)
	@if [ -z "$(FN)" ] || [ -z "$(EVENT)" ]; then echo "usage: make invoke FN=<name> EVENT=<file>"; \
	  echo "functions: $(FUNCTIONS)"; exit 2; fi
	@if command -v sam >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  id="$$(echo '$(FN)' | awk -F- '{for (i = 1; i <= NF; i++) printf "%s%s", toupper(substr($$i, 1, 1)), substr($$i, 2)}')Function"; \
	  echo "sam build $$id && sam local invoke $$id -e $(EVENT) --env-vars events/env.json"; \
	  $(SAM_ENV) sam build "$$id" && sam local invoke "$$id" -e "$(EVENT)" --env-vars events/env.json; \
	else \
	  echo "sam CLI or a working Docker not found: running $(FN) in-process (openagg invoke)" >&2; \
	  $(GO) run ./cmd/openagg invoke --function "$(FN)" --event "$(EVENT)"; \
	fi

template: ## regenerate template.yaml from the API groups' route tables (check only: go run ./cmd/openagg template --check)
	$(GO) run ./cmd/openagg template

deploy: ## build with SAM (stripped, lambda.norpc) and deploy (samconfig.toml; set your JwtIssuer first)
	$(SAM_ENV) sam build
	sam deploy

clean: ## remove build output (not the local data in .openagg/)
	rm -rf bin .aws-sam template.yaml.tmp
