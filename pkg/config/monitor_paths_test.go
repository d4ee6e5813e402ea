package config

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The thresholds of status --check are scoped like every path: defaults, then a value
// at default scope, then one at website scope; durations take whole days; values out
// of range are refused with the range.
func TestMonitorThresholdsScopedWithDays(t *testing.T) {
	ctx := context.Background()
	s, db, _ := newService(t, nil)
	if _, err := db.CreateWebsite(ctx, "shop2", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	shop2, err := s.WebsiteScope(ctx, "shop2")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.Duration(ctx, PathMonitorCertExpiryWarn, shop2); err != nil || d != 30*Day {
		t.Fatalf("default cert_expiry_warn = %s, %v", d, err)
	}
	if _, err := s.Set(ctx, PathMonitorCertExpiryWarn, "14d", Default); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, PathMonitorMaxPendingAge, "2h", shop2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, PathMonitorMaxFailed, "5", shop2); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Duration(ctx, PathMonitorCertExpiryWarn, shop2); d != 14*Day {
		t.Errorf("cert_expiry_warn at shop2 = %s, want 14d from default scope", d)
	}
	if d, _ := s.Duration(ctx, PathMonitorMaxPendingAge, Default); d != 30*time.Minute {
		t.Errorf("max_pending_age at default = %s, want 30m", d)
	}
	if d, _ := s.Duration(ctx, PathMonitorMaxPendingAge, shop2); d != 2*time.Hour {
		t.Errorf("max_pending_age at shop2 = %s, want 2h", d)
	}
	if n, err := s.Int(ctx, PathMonitorMaxFailed, shop2); err != nil || n != 5 {
		t.Errorf("max_failed at shop2 = %d, %v", n, err)
	}
	if _, err := s.Set(ctx, PathMonitorMaxSinceLastSubmit, "0", Default); err != nil {
		t.Errorf("0 (off) refused: %v", err)
	}
	for path, bad := range map[string]string{PathMonitorCertExpiryWarn: "400d", PathMonitorMaxPendingAge: "31d",
		PathMonitorOfflineDeadlineWarn: "soon", PathMonitorMaxDeadEvents: "-1", PathMonitorMaxFailed: "1000001"} {
		var inv *InvalidValueError
		if _, err := s.Set(ctx, path, bad, Default); !errors.As(err, &inv) {
			t.Errorf("%s %s: %v, want an InvalidValueError", path, bad, err)
		}
	}
	var inv *InvalidValueError
	if _, err := s.Set(ctx, PathMonitorCertExpiryWarn, "400d", Default); !errors.As(err, &inv) || inv.Reason != "400d is out of range: use a duration from 0s to 365d" {
		t.Errorf("out of range: %v", err)
	}
}

func TestParseDurationDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * Day, "0d": 0, "4h": 4 * time.Hour, "90s": 90 * time.Second, "1h30m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"d", "1.5d", "x", "99999999999d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}
