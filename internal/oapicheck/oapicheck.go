// Package oapicheck is test support: it loads the official KSeF OpenAPI contract
// (ContractFile, API 2.8.1, from the shared ksef-docs) and validates, with kin-openapi, every request and every response
// that passes through its middleware, recording the violations. Paths outside /v2/
// (the simulator's /sim/, /storage/, /latarnia/ and the KSeF 1.0 /api/online/
// endpoints) are not in the contract and pass unchecked. XML answers (UPO, invoice
// download), for which kin-openapi has no body decoder, are checked for their
// declared media type, headers and well-formedness.
package oapicheck

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// ContractFile is the file name, in the shared ksef-docs directory, of the current
// official contract: API 2.8.1. Tests load it with
// testenv.SharedPath(t, "ksef-docs", oapicheck.ContractFile). (open-api.json next to
// it is the older API 2.6.0.)
const ContractFile = "open-api-2.8.1.json"

// checkedPrefix is the path prefix of the contract (servers[0] = https://api-test.ksef.mf.gov.pl/v2).
const checkedPrefix = "/v2/"

// routingBase replaces the contract's server so that routing works on any host.
const routingBase = "https://ksef.invalid/v2"

// Checker validates HTTP exchanges against the contract. It is safe for concurrent use.
type Checker struct {
	router routers.Router

	mu       sync.Mutex
	request  []string
	response []string
	checked  int
}

// Load reads the contract at specPath (the caller finds it, e.g. with
// testenv.SharedPath(t, "ksef-docs", ContractFile)).
func Load(ctx context.Context, specPath string) (*Checker, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("oapicheck: load %s: %w", specPath, err)
	}
	doc.Servers = openapi3.Servers{{URL: routingBase}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("oapicheck: build router from %s: %w", specPath, err)
	}
	return &Checker{router: router}, nil
}

// bearerAuth accepts any request that carries `Authorization: Bearer <token>`; whether
// the token is good is the server's business, only the shape is the contract's.
func bearerAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || !strings.EqualFold(in.SecurityScheme.Scheme, "bearer") {
		return fmt.Errorf("unsupported security scheme %q", in.SecuritySchemeName)
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
		return errors.New("missing Authorization: Bearer header")
	}
	return nil
}

// Middleware returns h wrapped so that each /v2/ exchange is validated.
func (c *Checker) Middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, checkedPrefix) {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			c.addRequest(fmt.Sprintf("%s %s: cannot read request body: %v", r.Method, r.URL.Path, err))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		vr := r.Clone(r.Context())
		u := *r.URL
		base, _ := url.Parse(routingBase)
		u.Scheme, u.Host = base.Scheme, base.Host
		vr.URL = &u
		vr.Host = base.Host
		vr.Body = io.NopCloser(bytes.NewReader(body))

		route, params, rerr := c.router.FindRoute(vr)
		var in *openapi3filter.RequestValidationInput
		if rerr != nil {
			c.addRequest(fmt.Sprintf("%s %s: no operation in the contract: %v", r.Method, r.URL.Path, rerr))
		} else {
			in = &openapi3filter.RequestValidationInput{
				Request: vr, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: bearerAuth, MultiError: true},
			}
			if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
				c.addRequest(fmt.Sprintf("%s %s: request: %v", r.Method, r.URL.Path, err))
			}
		}

		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if in == nil {
			return
		}
		isXML := isXMLMedia(rec.Header().Get("Content-Type"))
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 rec.status,
			Header:                 rec.Header(),
			Body:                   io.NopCloser(bytes.NewReader(rec.body.Bytes())),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: isXML},
		}
		if err := openapi3filter.ValidateResponse(r.Context(), out); err != nil {
			c.addResponse(fmt.Sprintf("%s %s -> %d: response: %v", r.Method, r.URL.Path, rec.status, err))
		}
		if isXML {
			if err := checkXMLResponse(route, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes()); err != nil {
				c.addResponse(fmt.Sprintf("%s %s -> %d: response: %v", r.Method, r.URL.Path, rec.status, err))
			}
		}
		c.mu.Lock()
		c.checked++
		c.mu.Unlock()
	})
}

// isXMLMedia reports whether a Content-Type is an XML media type. kin-openapi has no
// body decoder for XML, so those bodies are checked by checkXMLResponse instead.
func isXMLMedia(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"))
}

// checkXMLResponse checks what the contract says about an XML answer (the operations
// that return XML declare `type: string`): the status declares this media type and
// the body is a well-formed XML document.
func checkXMLResponse(route *routers.Route, status int, ct string, body []byte) error {
	resp := route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return nil // reported by ValidateResponse (IncludeResponseStatus)
	}
	mt, _, _ := mime.ParseMediaType(ct)
	if resp.Value.Content.Get(mt) == nil {
		return fmt.Errorf("media type %q is not declared for status %d", mt, status)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	root := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("body is not well-formed XML: %w", err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			root = true
		}
	}
	if !root {
		return errors.New("XML body has no root element")
	}
	return nil
}

// Fresh returns a new Checker for the same contract with nothing recorded. Loading
// the contract is slow; tests load it once and take a Fresh checker per test. The
// loaded contract is only read, so checkers may run concurrently.
func (c *Checker) Fresh() *Checker {
	return &Checker{router: c.router}
}

func (c *Checker) addRequest(v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.request = append(c.request, v)
}

func (c *Checker) addResponse(v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.response = append(c.response, v)
}

// RequestViolations lists requests that broke the contract (including calls to paths
// the contract does not define).
func (c *Checker) RequestViolations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.request...)
}

// ResponseViolations lists responses that broke the contract.
func (c *Checker) ResponseViolations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.response...)
}

// Violations lists every recorded violation, requests first.
func (c *Checker) Violations() []string {
	return append(c.RequestViolations(), c.ResponseViolations()...)
}

// Checked is the number of exchanges whose response was validated.
func (c *Checker) Checked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked
}

// Reset forgets recorded violations and the exchange count.
func (c *Checker) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.request, c.response, c.checked = nil, nil, 0
}

// recorder passes the response through and keeps a copy for validation.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
