package submit

import (
	"context"
	"time"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// record writes what the run did for one website into the store, for monitoring
// (status --check, ksefpl metrics): its times, its outcome and its counts. A website
// skipped as not configured is not recorded: no run is expected of it. A failure to
// record is a warning; it never fails the run.
func record(ctx context.Context, env env, sc config.Scope, started time.Time, wr *WebsiteResult) {
	if wr.Skipped != "" {
		return
	}
	err := env.DB.RecordSubmitRun(context.WithoutCancel(ctx), store.RunRecord{WebsiteID: sc.WebsiteID, StartedAt: started,
		FinishedAt: env.Clock(), Success: wr.Error == "", ErrorClass: string(wr.Class), Sent: wr.Sent, Accepted: wr.Accepted, Failed: wr.Failed})
	if err != nil {
		wr.Warnings = append(wr.Warnings, err.Error())
	}
}

// recordAPICalls adds the run's API calls, 429 answers and retries per rate-limit group
// to the store's totals, and puts the time waited within the limits in the result.
func recordAPICalls(ctx context.Context, env env, res *Result) {
	if env.Pacer == nil || env.NoPace {
		return
	}
	stats := env.Pacer.Stats()
	res.RateLimitWait = stats.Total().Waited
	byGroup := make(map[string]store.APICalls, len(stats))
	for g, s := range stats {
		byGroup[string(g)] = store.APICalls{Calls: s.Calls, TooManyRequests: s.TooManyRequests, Retries: s.Retries}
	}
	if err := env.DB.AddAPICalls(context.WithoutCancel(ctx), byGroup); err != nil {
		res.Warnings = append(res.Warnings, err.Error())
	}
}
