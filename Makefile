# ksefpl — see README.md. `make demo` runs the main job end to end on the simulator;
# `make test` runs the whole suite.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/ksefpl

.PHONY: build test lint demo fuzz bench soak soak-mysql clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ksefpl

# With KSEFPL_TEST_MYSQL_DSN (.ci/run starts a throw-away MariaDB and sets it), the store
# suite runs a second time against MySQL/MariaDB, and the multi-host tests run too.
test:
	$(GO) test -race -timeout 12m ./...
	@if [ -n "$$KSEFPL_TEST_MYSQL_DSN" ]; then \
		echo "store suite on MySQL/MariaDB"; KSEFPL_TEST_STORE_ENGINE=mysql $(GO) test -race -count=1 ./pkg/store/...; \
	else echo "KSEFPL_TEST_MYSQL_DSN is unset: the store suite and the multi-host tests ran on SQLite only (eval \"\$$(.ci/mariadb-start)\" runs them on MariaDB, as .ci/run does)"; fi

lint:
	@out=$$(gofmt -l cmd pkg internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: build
	./testdata/demo.sh $(BIN)

# The chaos soak at full size (make test runs it with 500 invoices).
soak:
	@mkdir -p bin; KSEFPL_SOAK_N=$${KSEFPL_SOAK_N:-10000} $(GO) test ./cmd/ksefpl -run '^TestChaosSoak$$' -count=1 -v -timeout 60m > bin/soak.log 2>&1; rc=$$?; \
	grep -E '^(soak:|--- |ok|FAIL|PASS)|soak_test' bin/soak.log; echo "(full log: bin/soak.log)"; exit $$rc

# Three hosts on one MariaDB at full size (make test runs it with 150 invoices). Starts a
# throw-away server unless KSEFPL_TEST_MYSQL_DSN names one.
soak-mysql:
	@mkdir -p bin; if [ -z "$$KSEFPL_TEST_MYSQL_DSN" ]; then eval "$$(.ci/mariadb-start)"; trap 'kill $$(cat $$KSEFPL_TEST_MYSQL_DIR/pid); rm -rf $$KSEFPL_TEST_MYSQL_DIR' EXIT; fi; \
	KSEFPL_MULTIHOST_N=$${KSEFPL_MULTIHOST_N:-3000} $(GO) test ./cmd/ksefpl -run '^TestMultiHostSoak$$' -count=1 -v -timeout 90m > bin/soak-mysql.log 2>&1; rc=$$?; \
	grep -E '^(multi-host soak:|--- |ok|FAIL|PASS)|mysql_soak_test' bin/soak-mysql.log; echo "(full log: bin/soak-mysql.log)"; exit $$rc

fuzz:
	$(GO) test ./pkg/secret -run '^$$' -fuzz FuzzDecrypt -fuzztime 30s
	$(GO) test ./pkg/nip -run '^$$' -fuzz FuzzNormalizeValidate -fuzztime 30s

# bench runs the Go micro-benchmarks (no tests) and prints them as a Markdown table
# (docs/performance.md records a run).
bench:
	@out=$$(mktemp); \
	if ! $(GO) test -run '^$$' -bench . -benchmem ./pkg/... >$$out 2>&1; then cat $$out; rm -f $$out; exit 1; fi; \
	awk 'BEGIN { print "| package | benchmark | ns/op | B/op | allocs/op | other |"; print "|---|---|--:|--:|--:|---|" } \
		/^cpu: / && !cpu { cpu = substr($$0, 6) } \
		/^pkg: / { pkg = $$2; sub(/^.*\/pkg\//, "", pkg) } \
		/^Benchmark/ { name = $$1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$$/, "", name); ns = b = al = extra = ""; \
			for (i = 3; i < NF; i += 2) { v = $$i; u = $$(i+1); \
				if (u == "ns/op") ns = v; else if (u == "B/op") b = v; else if (u == "allocs/op") al = v; else extra = extra v " " u " " } \
			printf "| %s | %s | %s | %s | %s | %s |\n", pkg, name, ns, b, al, extra } \
		END { print ""; print "cpu: " cpu }' $$out; \
	rm -f $$out

clean:
	rm -rf bin
