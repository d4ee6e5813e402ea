package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
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

	// global flags
	homeFlag string
	output   string
	noColor  bool

	h *home.Home
}

// home opens the data directory on first use, initialising it when missing (and saying so
// on stderr).
func (a *app) home(ctx context.Context) (*home.Home, error) {
	if a.h != nil {
		return a.h, nil
	}
	dir, err := home.Dir(a.homeFlag, a.getenv)
	if err != nil {
		return nil, err
	}
	h, res, err := home.Open(ctx, dir, a.getenv, store.Options{Now: a.now})
	if err != nil {
		return nil, err
	}
	if res.CreatedDir || res.CreatedDB {
		fmt.Fprintf(a.io.ErrOut, "Initialised ksefpl home at %s\n", dir)
	}
	a.h = h
	return h, nil
}

// config returns the configuration service over the home's store and keys.
func (a *app) config(ctx context.Context) (*config.Service, *home.Home, error) {
	h, err := a.home(ctx)
	if err != nil {
		return nil, nil, err
	}
	return config.New(h.DB, h.Keys, a.getenv), h, nil
}

// websiteScope resolves --website CODE (default: the default website).
func (a *app) websiteScope(ctx context.Context, svc *config.Service, code string) (config.Scope, error) {
	if code == "" {
		code = "base"
	}
	return svc.WebsiteScope(ctx, code)
}

func (a *app) close() {
	if a.h != nil {
		a.h.Close()
	}
}

// json reports whether -o json was chosen.
func (a *app) json() bool { return a.output == "json" }
