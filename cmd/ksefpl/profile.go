package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
)

// startCPUProfile starts a CPU profile into the file named by KSEFPL_CPUPROFILE, if set
// (%p replaced by the process id); the returned function stops and writes it.
func startCPUProfile(getenv func(string) string) func() {
	path := getenv("KSEFPL_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid())))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// writeHeapProfile writes a heap profile to the file named by KSEFPL_HEAPPROFILE, if set,
// with %p replaced by the process id (for diagnosing the memory use of a long submit).
func writeHeapProfile(getenv func(string) string) {
	path := getenv("KSEFPL_HEAPPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid())))
	if err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
	}
}
