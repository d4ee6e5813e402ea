package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSimServeAndTestConnectionAsProcesses is the operator's first session, with real
// processes: `ksefpl sim serve` in the background, configuration pointing at it, a token
// from `ksefpl sim token`, and `ksefpl test-connection` all green; then the simulator
// stops cleanly on SIGINT.
func TestSimServeAndTestConnectionAsProcesses(t *testing.T) {
	bin := buildBinary(t)
	home := filepath.Join(t.TempDir(), "home")
	sim := exec.Command(bin, "sim", "serve", "--addr", "127.0.0.1:0")
	out, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening on http://127.0.0.1:") {
		t.Fatalf("sim serve printed %q", lines.Text())
	}
	url := strings.TrimPrefix(lines.Text(), "listening on ")
	go func() {
		for lines.Scan() {
		}
	}()

	k := func(stdin string, args ...string) (string, error) {
		c := exec.Command(bin, append([]string{"--home", home}, args...)...)
		c.Env = append(os.Environ(), "NO_COLOR=1")
		c.Stdin = strings.NewReader(stdin)
		b, err := c.CombinedOutput()
		return string(b), err
	}
	for _, kv := range [][2]string{{"ksefpl/connection/environment", "local"}, {"ksefpl/connection/base_url", url + "/v2"}, {"ksefpl/seller/nip", "5261040828"}} {
		if o, err := k("", "config:set", kv[0], kv[1]); err != nil {
			t.Fatalf("config:set %s: %v\n%s", kv[0], err, o)
		}
	}
	tok, err := exec.Command(bin, "sim", "token", "--url", url, "--nip", "5261040828").Output()
	if err != nil {
		t.Fatal(err)
	}
	if o, err := k(string(tok), "config:set", "ksefpl/connection/api_token", "-"); err != nil {
		t.Fatalf("token: %v\n%s", err, o)
	}
	o, err := k("", "test-connection")
	if err != nil || strings.Contains(o, "✘") || !strings.Contains(o, "Connection OK.") {
		t.Fatalf("test-connection: %v\n%s", err, o)
	}
	o, err = k("", "test-connection", "-o", "json")
	var rep struct {
		Success bool `json:"success"`
		Checks  []struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	if err != nil || json.Unmarshal([]byte(o), &rep) != nil || !rep.Success || len(rep.Checks) < 9 {
		t.Fatalf("test-connection -o json: %v\n%s", err, o)
	}
	if err := sim.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sim.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sim serve did not exit cleanly on SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim serve did not stop on SIGINT")
	}
}

// TestSimServeVerboseLogsEveryRequest runs `ksefpl sim serve -v` as a process: every
// request, answered or not, appears on stderr with its method, path, status and
// duration.
func TestSimServeVerboseLogsEveryRequest(t *testing.T) {
	bin := buildBinary(t)
	sim := exec.Command(bin, "sim", "serve", "-v", "--addr", "127.0.0.1:0")
	out, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	sim.Stderr = &stderr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening on http://127.0.0.1:") {
		t.Fatalf("sim serve printed %q", lines.Text())
	}
	url := strings.TrimPrefix(lines.Text(), "listening on ")
	go func() {
		for lines.Scan() {
		}
	}()
	for _, path := range []string{"/v2/security/public-key-certificates", "/v2/no/such/operation"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := sim.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := sim.Wait(); err != nil {
		t.Fatalf("sim serve -v: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		`msg="ksefsim request" method=GET path=/v2/security/public-key-certificates status=200 duration=`,
		`msg="ksefsim request" method=GET path=/v2/no/such/operation status=404 duration=`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
