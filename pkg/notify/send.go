// Package notify owns telling the shop what happened to its documents: it delivers the
// store's outbox events at least once, in per-website order, to a webhook (a JSON POST
// signed with HMAC-SHA256) and/or a command (the event on stdin), retrying with
// exponential backoff and parking an event as dead after the configured attempts.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Timeouts of one delivery.
const (
	WebhookTimeout = 10 * time.Second
	CommandTimeout = 30 * time.Second
)

// Header names of a webhook request.
const (
	HeaderSignature = "Ksefpl-Signature"
	HeaderEventID   = "Ksefpl-Event-Id"
	HeaderEventType = "Ksefpl-Event-Type"
)

// Receiver is where one website's events go.
type Receiver struct {
	WebhookURL string
	Secret     string
	Command    string
}

// Sign returns the Ksefpl-Signature value of body sent at t: t=UNIX,v1=hex(HMAC-SHA256
// of "UNIX.body" with the secret).
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature says a signature does not match, or is outside the time window.
var ErrBadSignature = errors.New("bad signature")

// Verify checks a Ksefpl-Signature header against body: the HMAC must match, and t must
// be within tolerance of now (a replayed request is older).
func Verify(header, secret string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("%w: malformed header", ErrBadSignature)
	}
	t := time.Unix(sec, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s is outside the %s window", ErrBadSignature, t.UTC().Format(time.RFC3339), tolerance)
	}
	want := Sign(secret, t, body)
	if !hmac.Equal([]byte(want[strings.Index(want, "v1=")+3:]), []byte(sig)) {
		return fmt.Errorf("%w: the HMAC does not match", ErrBadSignature)
	}
	return nil
}

// Answer is what a receiver said to one delivery.
type Answer struct {
	Status   int    // HTTP status (webhook)
	ExitCode int    // exit code (command)
	Body     string // the first bytes of the response body or command output
}

// Error is a delivery that the receiver did not acknowledge.
type Error struct {
	Receiver string // "webhook" or "command"
	Msg      string
	Answer   Answer
}

func (e *Error) Error() string { return e.Receiver + ": " + e.Msg }

// Class is failure.Unavailable: a later attempt may succeed.
func (e *Error) Class() failure.Class { return failure.Unavailable }

// maxAnswer is how much of a receiver's answer is kept for messages.
const maxAnswer = 512

// Sender delivers one event body to the receivers.
type Sender struct {
	// HTTP posts webhooks; nil uses a client with WebhookTimeout that follows no redirects.
	HTTP *http.Client
	// Now stamps signatures; nil is time.Now.
	Now func() time.Time
	// UserAgent is sent with webhooks ("ksefpl").
	UserAgent string
	// Timeout bounds one webhook call (0: WebhookTimeout).
	Timeout time.Duration
}

func (s *Sender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return WebhookTimeout
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Send delivers body (event id, type) to the webhook and then the command, whichever are
// set; both must acknowledge. The error is an *Error when a receiver refused or failed.
func (s *Sender) Send(ctx context.Context, r Receiver, id, typ string, body []byte) (Answer, error) {
	var ans Answer
	if r.WebhookURL != "" {
		a, err := s.post(ctx, r, id, typ, body)
		ans = a
		if err != nil {
			return ans, err
		}
	}
	if r.Command != "" {
		a, err := runCommand(ctx, r.Command, id, typ, body)
		ans.ExitCode, ans.Body = a.ExitCode, a.Body
		if err != nil {
			return ans, err
		}
	}
	return ans, nil
}

// CheckWebhookURL refuses what must never receive events: a URL that is not https,
// except plain http to a loopback host.
func CheckWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return failure.New(failure.Invalid, fmt.Errorf("webhook URL %q is not a URL", raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return failure.New(failure.Invalid, fmt.Errorf("webhook URL %s: events go only over https (plain http only to a loopback host)", u.Redacted()))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Sender) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return &http.Client{Timeout: s.timeout(), CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

func (s *Sender) post(ctx context.Context, r Receiver, id, typ string, body []byte) (Answer, error) {
	fail := func(a Answer, format string, args ...any) (Answer, error) {
		return a, &Error{Receiver: "webhook", Msg: fmt.Sprintf(format, args...), Answer: a}
	}
	if err := CheckWebhookURL(r.WebhookURL); err != nil {
		return fail(Answer{}, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return fail(Answer{}, "%v", err)
	}
	ua := s.UserAgent
	if ua == "" {
		ua = "ksefpl"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", ua)
	req.Header.Set(HeaderEventID, id)
	req.Header.Set(HeaderEventType, typ)
	if r.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(r.Secret, s.now(), body))
	}
	resp, err := s.client().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the configuration; the cause is what matters
		}
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return fail(Answer{}, "no answer within %s", s.timeout())
		}
		return fail(Answer{}, "%v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	a := Answer{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(a, "the receiver answered %s", resp.Status)
	}
	return a, nil
}

// commandEnv is the whole environment a notify command gets: never ksefpl's own, which
// may hold the deployment key or KSeF tokens.
func commandEnv(id, typ string) []string {
	env := []string{"KSEFPL_EVENT_ID=" + id, "KSEFPL_EVENT_TYPE=" + typ}
	for _, k := range []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// runCommand runs path with the event on stdin (never in argv) and a sanitised
// environment; exit 0 acknowledges.
func runCommand(ctx context.Context, path, id, typ string, body []byte) (Answer, error) {
	fail := func(a Answer, format string, args ...any) (Answer, error) {
		return a, &Error{Receiver: "command", Msg: fmt.Sprintf(format, args...), Answer: a}
	}
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = commandEnv(id, typ)
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	a := Answer{Body: strings.TrimSpace(out.String())}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return a, nil
	case ctx.Err() != nil:
		a.ExitCode = -1
		return fail(a, "%s did not finish within %s", path, CommandTimeout)
	case errors.As(err, &ee):
		a.ExitCode = ee.ExitCode()
		return fail(a, "%s exited with %d", path, a.ExitCode)
	default:
		a.ExitCode = -1
		return fail(a, "run %s: %v", path, err)
	}
}

// limitedBuffer keeps the first maxAnswer bytes written to it.
type limitedBuffer struct{ b bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxAnswer - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return l.b.String() }
