# ksefpl — see README.md. `make demo` runs the main job end to end on the simulator;
# `make test` runs the whole suite.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/ksefpl

.PHONY: build test lint demo fuzz clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ksefpl

test:
	$(GO) test -race -timeout 12m ./...

lint:
	@out=$$(gofmt -l cmd pkg); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: build
	./testdata/demo.sh $(BIN)

fuzz:
	$(GO) test ./pkg/secret -run '^$$' -fuzz FuzzDecrypt -fuzztime 30s
	$(GO) test ./pkg/nip -run '^$$' -fuzz FuzzNormalizeValidate -fuzztime 30s

clean:
	rm -rf bin
