// Command ksefpl is a command-line toolkit for KSeF 2.0, Poland's national e-invoicing
// system. Its commands mirror the bin/magento commands of the Magento 2 "KSeF Pro"
// module; see README.md for the command reference and the exit-code table.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopCPU := startCPUProfile(os.Getenv)
	code := run(ctx, os.Args[1:], systemIO(), os.Getenv)
	stop()
	stopCPU()
	writeHeapProfile(os.Getenv)
	os.Exit(code)
}
