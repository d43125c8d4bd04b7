# AniGo. `make run` serves the site on :3000; `make test` runs every check.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/anigo
HTMX  := static/js/htmx.min.js

.PHONY: all build generate assets run test vet templ-check bench drill clean

all: build

# htmx comes from npm, pinned by package-lock.json, and is copied into
# static/ (git-ignored) so that the binary embeds it.
$(HTMX): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

assets: $(HTMX)

generate:
	$(GO) tool templ generate

build: assets
	$(GO) build -trimpath -o $(BIN) ./cmd/anigo

run: build
	./scripts/run.sh

vet: assets
	$(GO) vet ./...

# Regenerating the committed *_templ.go files must change nothing.
templ-check:
	@$(GO) tool templ generate >/dev/null 2>&1
	@if [ -n "$$(git status --porcelain -- '*_templ.go')" ]; then \
		echo "templ-check: generated files are out of date; run 'go tool templ generate' and commit:"; \
		git status --porcelain -- '*_templ.go'; exit 1; fi

test: assets vet templ-check
	./scripts/test-deps.sh
	$(GO) test -race -count=1 ./...

# Load benchmark (issue 5): about 19 minutes; BENCH_FLAGS=-quick takes about 3.
# Uses PostgreSQL and Redis on localhost and redis-server for the fault cases;
# writes JSON, markdown, an SVG chart and server logs to bench-results/.
ANIGO_DATASET ?= ../shared/data/anime.csv
bench: assets
	ANIGO_DATASET=$(ANIGO_DATASET) $(GO) run ./cmd/bench $(BENCH_FLAGS)

# Failure drill (issue 6): a private PostgreSQL and redis-server under steady
# load, Redis killed three times and frozen once, PostgreSQL restarted once;
# about 2 minutes. Exits non-zero when a check fails.
drill: build
	ANIGO_DATASET=$(ANIGO_DATASET) $(GO) run ./cmd/drill -bin $(BIN)

clean:
	rm -rf bin node_modules $(HTMX) .data
