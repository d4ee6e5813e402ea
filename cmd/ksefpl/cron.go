package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/home"
)

type cronOptions struct {
	*app
	print   bool
	every   time.Duration
	binary  string
	log     string
	website string
	metrics string
}

// cronOut is cron:install --print -o json.
type cronOut struct {
	Schedule    string `json:"schedule"`
	Crontab     string `json:"crontab"`
	ServiceName string `json:"service_name"`
	Service     string `json:"service"`
	TimerName   string `json:"timer_name"`
	Timer       string `json:"timer"`
}

func newCronInstallCmd(a *app) *cobra.Command {
	o := &cronOptions{app: a}
	cmd := &cobra.Command{
		Use:   "cron:install --print [--every 1m] [--binary PATH] [--home DIR] [--website CODE] [--metrics-file FILE.prom]",
		Short: "Print the crontab line and the systemd service + timer that run submit on a schedule",
		Long: `Prints what runs 'ksefpl submit' on a schedule — a crontab line, and a systemd service and
timer pair logging to journald — with the absolute binary path (default: this binary) and the
absolute home directory. ksefpl only prints them: installing system files is the operator's
call, so without --print the command refuses (exit 2).

submit is cron-safe on its own: each website has a lease, so a second run exits at once and a
crashed run is taken over. The crontab line still wraps it in flock(1) so that slow runs do not
pile up processes, and systemd never starts a timer's service again while it is still running.
--wait is set below the interval so a run ends before the next one is due.
--metrics-file adds submit --metrics-file FILE: each run writes the Prometheus metrics
for node_exporter's textfile collector. The systemd service logs JSON lines
(KSEFPL_LOG_FORMAT=json) for journald; the crontab line keeps text.`,
		Example: "  ksefpl cron:install --print\n  ksefpl cron:install --print --every 5m --binary /usr/local/bin/ksefpl --home /var/lib/ksefpl",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !o.print {
				return &usageErr{errors.New("ksefpl only prints the schedule (installing system files is the operator's call): run ksefpl cron:install --print, then add the line with crontab -e or copy the units to /etc/systemd/system")}
			}
			return runCronInstall(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.print, "print", false, "print the crontab line and the systemd units (required)")
	f.DurationVar(&o.every, "every", time.Minute, "interval: whole minutes dividing an hour (1m, 5m, 15m …) or whole hours dividing a day")
	f.StringVar(&o.binary, "binary", "", "absolute path of the ksefpl binary (default: this executable)")
	f.StringVar(&o.log, "log", "", "log file of the crontab line (default: HOME/submit.log)")
	f.StringVar(&o.website, "website", "", "only this website (default: every website with a NIP and token)")
	f.StringVar(&o.metrics, "metrics-file", "", "each run writes the Prometheus metrics to this file (e.g. /var/lib/node_exporter/textfile_collector/ksefpl.prom)")
	return cmd
}

func runCronInstall(_ context.Context, o *cronOptions) error {
	a := o.app
	sched, err := cronSchedule(o.every)
	if err != nil {
		return &usageErr{err}
	}
	bin := o.binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return withClass(failure.Invalid, fmt.Errorf("find this binary's path: %w; give --binary PATH", err))
		}
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return withClass(failure.Invalid, fmt.Errorf("binary path: %w", err))
	}
	dir, err := home.Dir(a.homeFlag, a.getenv)
	if err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return withClass(failure.Invalid, fmt.Errorf("home path: %w", err))
	}
	logFile := o.log
	if logFile == "" {
		logFile = filepath.Join(dir, "submit.log")
	}
	if logFile, err = filepath.Abs(logFile); err != nil {
		return withClass(failure.Invalid, fmt.Errorf("log path: %w", err))
	}
	maxDur := submitMaxDuration(o.every)
	wait := submitWait(o.every)
	args := []string{"--home", dir, "--no-color", "submit", "--max-duration", shortDuration(maxDur), "--wait", wait}
	name := "ksefpl-submit"
	if o.website != "" {
		args = append(args, "--website", o.website)
		name += "-" + o.website
	}
	if o.metrics != "" {
		m, err := filepath.Abs(o.metrics)
		if err != nil {
			return withClass(failure.Invalid, fmt.Errorf("metrics file path: %w", err))
		}
		args = append(args, "--metrics-file", m)
	}
	lock := filepath.Join(dir, name+".lock")
	out := cronOut{
		Schedule:    sched,
		ServiceName: name + ".service",
		TimerName:   name + ".timer",
		// cron turns an unescaped % into a newline
		Crontab: strings.ReplaceAll(fmt.Sprintf("%s flock -n %s %s %s >> %s 2>&1", sched, shellQuote(lock), shellQuote(bin),
			shellJoin(args), shellQuote(logFile)), "%", `\%`),
		Service: systemdService(bin, dir, args, o),
		Timer:   systemdTimer(name, o.every),
	}
	if a.json() {
		return writeJSON(a.io.Out, out)
	}
	w := a.io.Out
	fmt.Fprintf(w, "# crontab (crontab -e as the user owning %s):\n", dir)
	fmt.Fprintln(w, "# submit holds a lease per website; flock -n only keeps slow runs from piling up.")
	fmt.Fprintf(w, "# Rotate %s with logrotate (copytruncate).\n", logFile)
	if o.metrics == "" {
		fmt.Fprintln(w, "# Prometheus: --metrics-file /var/lib/node_exporter/textfile_collector/ksefpl.prom adds submit --metrics-file (node_exporter's textfile collector).")
	}
	fmt.Fprintln(w, out.Crontab)
	fmt.Fprintf(w, "\n# /etc/systemd/system/%s\n%s", out.ServiceName, out.Service)
	fmt.Fprintf(w, "\n# /etc/systemd/system/%s\n%s", out.TimerName, out.Timer)
	fmt.Fprintf(w, "\n# then: systemctl daemon-reload && systemctl enable --now %s\n# logs: journalctl -t ksefpl -f\n", out.TimerName)
	return nil
}

// cronSchedule turns an interval into the five crontab fields.
func cronSchedule(every time.Duration) (string, error) {
	bad := fmt.Errorf("invalid --every %s: use whole minutes that divide an hour (1m, 2m, 5m, 10m, 15m, 30m) or whole hours that divide a day (1h, 2h, 6h …)", every)
	switch {
	case every <= 0 || every%time.Minute != 0:
		return "", bad
	case every == time.Minute:
		return "* * * * *", nil
	case every < time.Hour:
		m := int(every / time.Minute)
		if 60%m != 0 {
			return "", bad
		}
		return fmt.Sprintf("*/%d * * * *", m), nil
	case every%time.Hour != 0:
		return "", bad
	case every == time.Hour:
		return "0 * * * *", nil
	case every < 24*time.Hour:
		h := int(every / time.Hour)
		if 24%h != 0 {
			return "", bad
		}
		return fmt.Sprintf("0 */%d * * *", h), nil
	case every == 24*time.Hour:
		return "0 0 * * *", nil
	}
	return "", bad
}

// submitWait is submit's --wait for a schedule: 10 s short of the interval, at most 2 min.
func submitWait(every time.Duration) string {
	w := every - 10*time.Second
	if w > 2*time.Minute {
		w = 2 * time.Minute
	}
	if m := submitMaxDuration(every); w > m {
		w = m
	}
	return shortDuration(w)
}

// submitMaxDuration bounds a scheduled run: 50 s below the interval (at least 10 s), so
// that a run ends before the next one is due.
func submitMaxDuration(every time.Duration) time.Duration {
	return max(every-50*time.Second, 10*time.Second)
}

// shortDuration writes d as 50s, 5m or 2h (both cron and systemd read these).
func shortDuration(w time.Duration) string {
	switch {
	case w%time.Hour == 0:
		return fmt.Sprintf("%dh", int(w/time.Hour))
	case w%time.Minute == 0:
		return fmt.Sprintf("%dm", int(w/time.Minute))
	case w < time.Minute:
		return fmt.Sprintf("%ds", int(w/time.Second))
	}
	return w.String()
}

func systemdService(bin, dir string, args []string, o *cronOptions) string {
	var b strings.Builder
	b.WriteString("[Unit]\n")
	desc := "ksefpl: send queued invoices to KSeF"
	if o.website != "" {
		desc += " (website " + o.website + ")"
	}
	fmt.Fprintf(&b, "Description=%s\nWants=network-online.target\nAfter=network-online.target\n\n", desc)
	b.WriteString("[Service]\nType=oneshot\n")
	fmt.Fprintf(&b, "ExecStart=%s %s\n", systemdQuote(bin), systemdJoin(args))
	b.WriteString("# run as the user owning the home (mode 0700); KSEFPL_CRYPT_KEY or tokens from the\n# environment go in an EnvironmentFile= of mode 0600, never in this file\n")
	fmt.Fprintf(&b, "#User=\nWorkingDirectory=%s\nEnvironment=NO_COLOR=1\nEnvironment=KSEFPL_LOG_FORMAT=json\n", systemdQuote(dir))
	b.WriteString("StandardOutput=journal\nStandardError=journal\nSyslogIdentifier=ksefpl\n")
	b.WriteString("# exit 7 = some jobs failed (see ksefpl queue list --status failed); the unit shows as failed\n")
	return b.String()
}

func systemdTimer(name string, every time.Duration) string {
	return fmt.Sprintf(`[Unit]
Description=Run %s.service every %s

[Timer]
OnBootSec=1min
OnUnitActiveSec=%s
AccuracySec=1s
Unit=%s.service

[Install]
WantedBy=timers.target
`, name, shortDuration(every), shortDuration(every), name)
}

// shellQuote quotes s for /bin/sh when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, s := range args {
		q[i] = shellQuote(s)
	}
	return strings.Join(q, " ")
}

// systemdQuote quotes s for ExecStart= when it holds spaces or quotes (and doubles % as
// systemd requires).
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if !strings.ContainsAny(s, " \t\"'\\") {
		return s
	}
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func systemdJoin(args []string) string {
	q := make([]string, len(args))
	for i, s := range args {
		q[i] = systemdQuote(s)
	}
	return strings.Join(q, " ")
}
