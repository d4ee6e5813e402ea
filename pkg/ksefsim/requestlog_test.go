package ksefsim

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEveryRequestIsLoggedAtInfo(t *testing.T) {
	var buf syncBuffer
	// The default text handler level is Info: a Debug request log would stay silent.
	e := newEnv(t, Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	e.call("POST", "/v2/auth/challenge", nil)
	e.call("GET", "/v2/nope", nil)
	e.call("GET", "/sim/health", nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 request lines, got %d:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{
		`level=INFO msg="ksefsim request" method=POST path=/v2/auth/challenge status=200 duration=[0-9.]+(µs|ms|s)`,
		`method=GET path=/v2/nope status=404 duration=`,
		`method=GET path=/sim/health status=200 duration=`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %q", i, lines[i], want)
		}
	}
}
