package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/submit"
)

// Log formats of what long commands print to stderr (--log-format, env
// KSEFPL_LOG_FORMAT): text is the human lines, json one JSON object per line for
// journald and ELK.
const (
	logText = "text"
	logJSON = "json"
)

// setLogFormat applies --log-format (or, when the flag is not given, KSEFPL_LOG_FORMAT):
// with json, a.log writes to stderr; with text it stays nil.
func (a *app) setLogFormat(flagGiven bool) error {
	format := a.logFormat
	if v := a.getenv("KSEFPL_LOG_FORMAT"); !flagGiven && v != "" {
		format = v
	}
	switch format {
	case logText:
	case logJSON:
		a.log = newJSONLogger(a.io.ErrOut)
	default:
		return &usageErr{fmt.Errorf("invalid --log-format %q (or KSEFPL_LOG_FORMAT): use text or json", format)}
	}
	return nil
}

// newJSONLogger writes one JSON object per line to w: time, level and message, then the
// record's attributes (website, job, session, event …). What it is given never holds a
// secret: messages are the same warnings and errors the text format prints.
func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
		if len(groups) == 0 && at.Key == slog.MessageKey {
			at.Key = "message"
		}
		return at
	}}))
}

// logSubmitJob logs a job's move in a submit run.
func logSubmitJob(l *slog.Logger, p submit.Progress) {
	l.Info("job "+p.Status, "event", "job."+strings.ToLower(p.Status), "website", p.Website, "job", p.JobID, "session", p.Session)
}

// logSubmitHeartbeat logs a website's counts in the middle of a run.
func logSubmitHeartbeat(l *slog.Logger, h submit.Heartbeat) {
	l.Info("submit in progress", "event", "submit.heartbeat", "website", h.Website, "sent", h.Sent, "accepted", h.Accepted,
		"failed", h.Failed, "pending", h.Pending, "elapsed_seconds", h.Elapsed.Seconds())
}

// logSubmitResult logs each website's outcome with its warnings, the run's own warnings,
// and the run's totals.
func logSubmitResult(ctx context.Context, l *slog.Logger, res *submit.Result, took float64) {
	n := 0
	for _, w := range res.Websites {
		level, msg := slog.LevelInfo, "website done"
		args := []any{"event", "submit.website", "website", w.Website, "sent", w.Sent, "accepted", w.Accepted, "failed", w.Failed, "waiting", w.Waiting}
		switch {
		case w.Error != "":
			level, msg = slog.LevelError, w.Error
			args = append(args, "error_class", string(w.Class))
		case w.Skipped != "":
			msg = "website skipped: " + w.Skipped
		}
		l.Log(ctx, level, msg, args...)
		for _, warning := range w.Warnings {
			l.Warn(warning, "event", "warning", "website", w.Website)
		}
		n += len(w.Warnings)
	}
	if n <= len(res.Warnings) {
		for _, warning := range res.Warnings[n:] { // the run's own, after the websites'
			l.Warn(warning, "event", "warning")
		}
	}
	l.Info("submit run ended", "event", "submit.run", "sent", res.Sent, "accepted", res.Accepted, "failed", res.Failed,
		"waiting", res.Waiting, "duration_seconds", took)
}
