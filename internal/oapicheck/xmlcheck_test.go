package oapicheck

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, url string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestXMLAnswersAreCheckedWithoutABodyDecoder(t *testing.T) {
	base := load(t)
	const upoPath = "/v2/sessions/20250625-SO-2C3E6C8000-B675CF5D68-07/upo/20250918-EU-2EBD6FA000-242EB9B66D-43"
	hash := "x-ms-meta-hash"
	good := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set(hash, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
		_, _ = w.Write([]byte(`<?xml version="1.0"?><Potwierdzenie/>`))
	})
	c := base.Fresh()
	srv := httptest.NewServer(c.Middleware(good))
	defer srv.Close()
	get(t, srv.URL+upoPath)
	if v := c.Violations(); len(v) != 0 || c.Checked() != 1 {
		t.Fatalf("well-formed XML answer: violations %v, checked %d", v, c.Checked())
	}

	cases := map[string]http.Handler{
		"malformed XML":         fixed(200, "application/xml", `<Potwierdzenie>`),
		"undeclared media type": fixed(200, "text/xml", `<Potwierdzenie/>`),
		"bad hash header": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set(hash, "short")
			_, _ = w.Write([]byte(`<Potwierdzenie/>`))
		}),
	}
	for want, h := range cases {
		c := base.Fresh()
		srv := httptest.NewServer(c.Middleware(h))
		get(t, srv.URL+upoPath)
		srv.Close()
		v := c.ResponseViolations()
		if len(v) == 0 {
			t.Errorf("%s: broken XML answer passed", want)
			continue
		}
		if want == "undeclared media type" && !strings.Contains(v[0], "not declared") {
			t.Errorf("undeclared media type: %v", v)
		}
	}
}
