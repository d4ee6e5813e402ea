package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/home"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// app is what every command gets: the streams, the environment, global flags, and lazy
// access to the data directory. It replaces package-level state.
type app struct {
	io      *ioStreams
	getenv  func(string) string
	now     func() time.Time
	version string
	// executable is the path of the running binary (os.Executable): the schemas are
	// looked for beside it.
	executable func() (string, error)

	// global flags
	homeFlag  string
	output    string
	noColor   bool
	logFormat string

	// log writes stderr's messages as JSON lines (--log-format json); nil with text.
	log *slog.Logger

	// mayCreate lets home create a missing home: only setup:install and config:set do.
	mayCreate bool

	h *home.Home
	d *deps.Deps

	// warned holds the warnings already printed (warn prints each once); websites are
	// processed concurrently, so warnMu guards it.
	warnMu sync.Mutex
	warned map[string]bool
}

// home opens the data directory on first use. Only a command that set mayCreate
// (setup:install, config:set) initialises a missing one, saying so on stderr; any other
// command fails with a *home.MissingError (exit 3), so a mistyped KSEFPL_HOME in cron
// fails loudly. Permission problems are warned about on stderr.
func (a *app) home(ctx context.Context) (*home.Home, error) {
	if a.h != nil {
		return a.h, nil
	}
	dir, err := home.Dir(a.homeFlag, a.getenv)
	if err != nil {
		return nil, err
	}
	var h *home.Home
	if a.mayCreate {
		var res home.InstallResult
		if h, res, err = home.Open(ctx, dir, a.getenv, store.Options{Now: a.now}); err != nil {
			return nil, err
		}
		if res.CreatedDir || res.CreatedDB {
			fmt.Fprintf(a.io.ErrOut, "Initialised ksefpl home at %s\n", dir)
		}
	} else if h, err = home.OpenExisting(ctx, dir, a.getenv, store.Options{Now: a.now}); err != nil {
		return nil, err
	}
	for _, w := range h.Warnings {
		a.warn(w)
	}
	a.h = h
	return h, nil
}

// homeDir is the data directory the flags and environment name.
func (a *app) homeDir() (string, error) { return home.Dir(a.homeFlag, a.getenv) }

// warn prints a warning on stderr, whatever the output format, once per process.
func (a *app) warn(msg string) {
	a.warnMu.Lock()
	defer a.warnMu.Unlock()
	if a.warned[msg] {
		return
	}
	if a.warned == nil {
		a.warned = map[string]bool{}
	}
	a.warned[msg] = true
	if a.log != nil {
		a.log.Warn(msg, "event", "warning")
		return
	}
	fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+esc(msg)))
}

// deps returns the dependencies of the workflows, built once over the home (opened on
// first use) and this process's environment, clock and version.
func (a *app) deps(ctx context.Context) (*deps.Deps, error) {
	if a.d != nil {
		return a.d, nil
	}
	h, err := a.home(ctx)
	if err != nil {
		return nil, err
	}
	a.d = deps.FromHome(h, a.getenv, a.version, a.now)
	a.d.Warn = a.warn
	return a.d, nil
}

// websiteScope opens the dependencies and resolves --website CODE (default: the default
// website).
func (a *app) websiteScope(ctx context.Context, code string) (*deps.Deps, config.Scope, error) {
	d, err := a.deps(ctx)
	if err != nil {
		return nil, config.Scope{}, err
	}
	if code == "" {
		code = "base"
	}
	sc, err := d.Config.WebsiteScope(ctx, code)
	return d, sc, err
}

func (a *app) close() {
	if a.h != nil {
		a.h.Close()
	}
}

// json reports whether -o json was chosen.
func (a *app) json() bool { return a.output == "json" }
