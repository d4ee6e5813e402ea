package ksef

import (
	"errors"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

func TestEnvironmentEndpoints(t *testing.T) {
	cases := map[string]Endpoints{
		"test":       {API: "https://api-test.ksef.mf.gov.pl/v2", QR: "https://qr-test.ksef.mf.gov.pl", Latarnia: "https://api-latarnia-test.ksef.mf.gov.pl", Legacy: "https://api-test.ksef.mf.gov.pl/api"},
		"DEMO":       {API: "https://api-demo.ksef.mf.gov.pl/v2", QR: "https://qr-demo.ksef.mf.gov.pl", Latarnia: "https://api-latarnia-test.ksef.mf.gov.pl", Legacy: "https://api-demo.ksef.mf.gov.pl/api"},
		"production": {API: "https://api.ksef.mf.gov.pl/v2", QR: "https://qr.ksef.mf.gov.pl", Latarnia: "https://api-latarnia.ksef.mf.gov.pl", Legacy: "https://api.ksef.mf.gov.pl/api"},
		"prod":       {API: "https://api.ksef.mf.gov.pl/v2", QR: "https://qr.ksef.mf.gov.pl", Latarnia: "https://api-latarnia.ksef.mf.gov.pl", Legacy: "https://api.ksef.mf.gov.pl/api"},
	}
	for name, want := range cases {
		env, err := ParseEnvironment(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := env.Endpoints("")
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
}

func TestLocalEndpoints(t *testing.T) {
	got, err := EnvLocal.Endpoints("http://127.0.0.1:8089/v2/")
	if err != nil {
		t.Fatal(err)
	}
	want := Endpoints{API: "http://127.0.0.1:8089/v2", QR: "http://127.0.0.1:8089/qr", Latarnia: "http://127.0.0.1:8089/latarnia", Legacy: "http://127.0.0.1:8089/api"}
	if got != want {
		t.Errorf("got %+v", got)
	}
	for _, ok := range []string{"http://localhost:1/v2", "http://[::1]:9/v2", "https://ksef.example.com/v2"} {
		if _, err := EnvLocal.Endpoints(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestPlainHTTPOnlyForLoopback(t *testing.T) {
	for _, bad := range []string{"http://api-test.ksef.mf.gov.pl/v2", "http://10.0.0.1:8080/v2", "ftp://127.0.0.1/v2", "127.0.0.1:8080", "https://user:pw@host/v2", ""} {
		_, err := NewClient(Options{BaseURL: bad})
		var ce *ConfigError
		if !errors.As(err, &ce) || failure.Of(err) != failure.Invalid {
			t.Errorf("%q: got %v, want ConfigError", bad, err)
		}
	}
	if _, err := ParseEnvironment("staging"); failure.Of(err) != failure.Invalid {
		t.Errorf("unknown environment: %v", err)
	}
	if _, err := EnvLocal.Endpoints(""); failure.Of(err) != failure.Invalid {
		t.Errorf("local without URL: %v", err)
	}
}
