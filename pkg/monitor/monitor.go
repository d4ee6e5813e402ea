// Package monitor owns what operators watch an unattended ksefpl by: the per-website
// thresholds of status --check (ksefpl/monitor/*) and their verdicts in the
// monitoring-plugins convention (OK, WARNING, CRITICAL, UNKNOWN, a summary line with
// perfdata), and the Prometheus metrics of ksefpl metrics and submit --metrics-file in
// the text format node_exporter's textfile collector reads, written atomically. Both are
// read from the store (through pkg/status, and the run records and API call totals
// submit keeps); nothing here sends to KSeF.
package monitor

import (
	"context"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/status"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// TokenAuthEnds is when authentication with KSeF tokens ends under § 13 ust. 1 pkt 1 of
// the regulation on using KSeF: the end of 31 December 2026, Europe/Warsaw (CET, UTC+1).
// A website that authenticates with a token must have moved to a certificate by then.
func TokenAuthEnds() time.Time { return time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC) }

// Options select what Collect reads.
type Options struct {
	// Website limits the report to one website code ("" = every website).
	Website string
}

// Thresholds are one website's ksefpl/monitor/* values; a duration of 0 turns its
// check off.
type Thresholds struct {
	MaxPendingAge       time.Duration `json:"max_pending_age_seconds"`
	MaxFailed           int           `json:"max_failed"`
	CertExpiryWarn      time.Duration `json:"cert_expiry_warn_seconds"`
	OfflineDeadlineWarn time.Duration `json:"offline_deadline_warn_seconds"`
	MaxDeadEvents       int           `json:"max_dead_events"`
	MaxSinceLastSubmit  time.Duration `json:"max_since_last_submit_seconds"`
}

// Site is one website's status with the thresholds that apply to it.
type Site struct {
	status.Website
	Thresholds Thresholds
	// Sessions counts the website's sessions by status; UPOs how many UPOs are stored.
	Sessions map[string]int
	UPOs     int
}

// Snapshot is what the store knows, at one instant, for every selected website.
type Snapshot struct {
	At    time.Time
	Sites []Site
	// API are the totals of the KSeF calls submit runs made, per rate-limit group; nil
	// when the snapshot is of one website (they are not counted per website, and two
	// textfiles must not both hold them).
	API map[string]store.APICalls
}

// Collect reads the snapshot: the status of every website (or o.Website), its
// thresholds, its session and UPO counts, and the API call totals.
func Collect(ctx context.Context, d *deps.Deps, o Options) (*Snapshot, error) {
	env := d.WithDefaults()
	sites, err := status.Collect(ctx, env, status.Options{Website: o.Website})
	if err != nil {
		return nil, err
	}
	upos, err := env.DB.UPOCounts(ctx)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{At: env.Clock()}
	if o.Website == "" {
		if snap.API, err = env.DB.APICallTotals(ctx); err != nil {
			return nil, err
		}
	}
	for _, w := range sites {
		sc, err := env.Config.WebsiteScope(ctx, w.Code)
		if err != nil {
			return nil, err
		}
		th, err := thresholdsAt(ctx, env.Config, sc)
		if err != nil {
			return nil, err
		}
		sessions, err := env.DB.SessionCounts(ctx, w.ID)
		if err != nil {
			return nil, err
		}
		snap.Sites = append(snap.Sites, Site{Website: w, Thresholds: th, Sessions: sessions, UPOs: upos[w.ID]})
	}
	return snap, nil
}

// thresholdsAt reads the thresholds in effect at a website's scope.
func thresholdsAt(ctx context.Context, cfg *config.Service, sc config.Scope) (Thresholds, error) {
	var t Thresholds
	for _, d := range []struct {
		to   *time.Duration
		path string
	}{{&t.MaxPendingAge, config.PathMonitorMaxPendingAge}, {&t.CertExpiryWarn, config.PathMonitorCertExpiryWarn},
		{&t.OfflineDeadlineWarn, config.PathMonitorOfflineDeadlineWarn}, {&t.MaxSinceLastSubmit, config.PathMonitorMaxSinceLastSubmit}} {
		v, err := cfg.Duration(ctx, d.path, sc)
		if err != nil {
			return t, err
		}
		*d.to = v
	}
	for _, n := range []struct {
		to   *int
		path string
	}{{&t.MaxFailed, config.PathMonitorMaxFailed}, {&t.MaxDeadEvents, config.PathMonitorMaxDeadEvents}} {
		v, err := cfg.Int(ctx, n.path, sc)
		if err != nil {
			return t, err
		}
		*n.to = v
	}
	return t, nil
}
