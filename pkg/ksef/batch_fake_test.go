package ksef

import (
	"archive/zip"
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBatch is a test-local KSeF serving POST /sessions/batch, the part
// uploads (as a pre-signed storage would) and POST /sessions/batch/{ref}/close
// over real HTTP with real crypto: it unwraps the session key with its RSA
// private key, checks each uploaded part's size and SHA-256 against the
// declaration, decrypts the parts, joins them, checks the whole package's
// hash and size and unzips it. The /v2 exchanges pass the contract checker.
type fakeBatch struct {
	t    *testing.T
	keys *fakeSessions // the RSA keys and certificates
	srv  *httptest.Server

	mu       sync.Mutex
	seq      int
	sessions map[string]*fakeBatchSession
	attempts map[int]int // upload attempts per ordinal number
	calls    map[string]int

	// hooks
	fail503      map[int]int // ordinal -> 503 answers before accepting
	forbid       bool        // answer every upload 403 AuthorizationPermissionMismatch
	barrier      int         // hold each upload until this many are in flight (0: no wait)
	inflight     int
	maxInflight  int
	released     chan struct{}
	rejectOldKey bool        // answer 21470 when publicKeyId is not the newest
	openHeader   http.Header // the request headers of the last POST /sessions/batch
}

type fakeBatchSession struct {
	ref      string
	key, iv  []byte
	req      openBatchRequest
	parts    map[int][]byte // encrypted bytes by ordinal
	closed   bool
	files    map[string][]byte // unzipped at close
	zipBytes []byte
}

func newFakeBatch(t *testing.T) *fakeBatch {
	t.Helper()
	f := &fakeBatch{t: t, keys: newFakeSessions(t), sessions: map[string]*fakeBatchSession{}, attempts: map[int]int{},
		calls: map[string]int{}, fail503: map[int]int{}, released: make(chan struct{})}
	chk := ContractChecker(t)
	f.srv = httptest.NewServer(chk.Middleware(http.HandlerFunc(f.serve)))
	t.Cleanup(func() {
		f.srv.Close()
		for _, v := range chk.Violations() {
			t.Errorf("contract violation: %s", v)
		}
	})
	return f
}

func (f *fakeBatch) client(t *testing.T, mod func(*Options)) *Client {
	return newTestClient(t, f.srv.URL+"/v2", mod)
}

func (f *fakeBatch) count(ep string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[ep]
}

func (f *fakeBatch) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v2")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if parts[0] == "upload" {
		f.upload(w, r, parts)
		return
	}
	ep := r.Method + " " + path
	if len(parts) == 4 && parts[1] == "batch" && parts[3] == "close" {
		ep = "POST /sessions/batch/{ref}/close"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[ep]++
	if ep == "GET /security/public-key-certificates" {
		f.keys.mu.Lock()
		certs := f.keys.certs
		f.keys.mu.Unlock()
		writeJSON(w, 200, certs)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.keys.access {
		problem401(w)
		return
	}
	switch ep {
	case "POST /sessions/batch":
		f.openHeader = r.Header.Clone()
		f.open(w, r)
	case "POST /sessions/batch/{ref}/close":
		f.close(w, parts[2])
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeBatch) open(w http.ResponseWriter, r *http.Request) {
	var req openBatchRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		exceptionResponse(w, 21405, "Błąd walidacji danych wejściowych.", err.Error())
		return
	}
	f.keys.mu.Lock()
	cur, priv := f.keys.certs[0].PublicKeyID, f.keys.keys[len(f.keys.keys)-1]
	f.keys.mu.Unlock()
	if req.Encryption.PublicKeyID != cur {
		if f.rejectOldKey {
			exceptionResponse(w, 21470, "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.", "Klucz o identyfikatorze "+req.Encryption.PublicKeyID+" nie jest wspierany.")
			return
		}
		f.t.Errorf("publicKeyId %q is not the current key %q", req.Encryption.PublicKeyID, cur)
	}
	wrapped, _ := base64.StdEncoding.DecodeString(req.Encryption.EncryptedSymmetricKey)
	key, err := rsa.DecryptOAEP(sha256.New(), nil, priv, wrapped, nil)
	if err != nil || len(key) != AESKeySize {
		f.t.Errorf("the batch key does not unwrap with RSA-OAEP SHA-256: %v", err)
	}
	iv, _ := base64.StdEncoding.DecodeString(req.Encryption.InitializationVector)
	f.seq++
	s := &fakeBatchSession{ref: fmt.Sprintf("20250626-SB-%010X-4DE10D80A5-E9", f.seq), key: key, iv: iv, req: req, parts: map[int][]byte{}}
	f.sessions[s.ref] = s
	var ups []map[string]any
	for _, p := range req.BatchFile.FileParts {
		ups = append(ups, map[string]any{"ordinalNumber": p.OrdinalNumber, "method": "PUT",
			"url":     fmt.Sprintf("%s/upload/%s/%d?sig=s3cr3t-%d", f.srv.URL, s.ref, p.OrdinalNumber, p.OrdinalNumber),
			"headers": map[string]string{"x-ms-blob-type": "BlockBlob"}})
	}
	writeJSON(w, 201, map[string]any{"referenceNumber": s.ref, "partUploadRequests": ups})
}

// upload serves PUT /upload/{ref}/{n}?sig=…
func (f *fakeBatch) upload(w http.ResponseWriter, r *http.Request, parts []string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("reading an upload: %v", err)
		return
	}
	n, _ := strconv.Atoi(parts[2])
	f.mu.Lock()
	f.attempts[n]++
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	if f.barrier > 0 && f.inflight == f.barrier {
		close(f.released)
	}
	barrier, released := f.barrier, f.released
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inflight--; f.mu.Unlock() }()
	if barrier > 0 {
		select {
		case <-released:
		case <-time.After(10 * time.Second):
			f.t.Errorf("part %d: %d uploads never were in flight together", n, barrier)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "" {
		f.t.Errorf("part %d uploaded with an Authorization header", n)
	}
	if r.Method != http.MethodPut || r.Header.Get("x-ms-blob-type") != "BlockBlob" {
		f.t.Errorf("part %d: method %s, x-ms-blob-type %q", n, r.Method, r.Header.Get("x-ms-blob-type"))
	}
	if r.URL.Query().Get("sig") != fmt.Sprintf("s3cr3t-%d", n) {
		w.WriteHeader(403)
		return
	}
	if f.forbid {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized.</Message></Error>`))
		return
	}
	if f.fail503[n] > 0 {
		f.fail503[n]--
		w.WriteHeader(503)
		return
	}
	s := f.sessions[parts[1]]
	if s == nil {
		w.WriteHeader(404)
		return
	}
	s.parts[n] = body
	w.WriteHeader(201)
}

// close checks every declared part like KSeF: present (21205), declared size
// (21157) and hash, then decrypts, joins and unzips the package.
func (f *fakeBatch) close(w http.ResponseWriter, ref string) {
	s := f.sessions[ref]
	switch {
	case s == nil:
		exceptionResponse(w, 21173, "Brak sesji o wskazanym numerze referencyjnym.", "Sesja o numerze referencyjnym "+ref+" nie została znaleziona.")
		return
	case s.closed:
		exceptionResponse(w, 21180, "Status sesji nie pozwala na wykonanie operacji.", "Status sesji 150 uniemożliwia jej zamknięcie.")
		return
	}
	var whole []byte
	decl := append([]batchPartInfo(nil), s.req.BatchFile.FileParts...)
	sort.Slice(decl, func(i, j int) bool { return decl[i].OrdinalNumber < decl[j].OrdinalNumber })
	for _, d := range decl {
		enc, ok := s.parts[d.OrdinalNumber]
		if !ok {
			exceptionResponse(w, 21205, "Pakiet nie może być pusty.", fmt.Sprintf("Nie przesłano zadeklarowanej '%d' części pliku.", d.OrdinalNumber))
			return
		}
		if int64(len(enc)) != d.FileSize {
			exceptionResponse(w, 21157, "Nieprawidłowy rozmiar części pakietu.", fmt.Sprintf("Zadeklarowany rozmiar części '%d' nie zgadza się z rzeczywistym.", d.OrdinalNumber))
			return
		}
		if SHA256Base64(enc) != d.FileHash {
			f.t.Errorf("part %d: declared hash %s, uploaded %s", d.OrdinalNumber, d.FileHash, SHA256Base64(enc))
		}
		plain, err := AESDecryptCBC(s.key, s.iv, enc)
		if err != nil {
			f.t.Errorf("part %d does not decrypt on its own: %v", d.OrdinalNumber, err)
		}
		whole = append(whole, plain...)
	}
	if int64(len(whole)) != s.req.BatchFile.FileSize || SHA256Base64(whole) != s.req.BatchFile.FileHash {
		f.t.Errorf("joined package: %d bytes %s, declared %d bytes %s", len(whole), SHA256Base64(whole), s.req.BatchFile.FileSize, s.req.BatchFile.FileHash)
	}
	zr, err := zip.NewReader(bytes.NewReader(whole), int64(len(whole)))
	if err != nil {
		f.t.Errorf("the joined package is not a ZIP: %v", err)
	} else {
		s.files = map[string][]byte{}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				f.t.Errorf("opening %s: %v", zf.Name, err)
				continue
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				f.t.Errorf("reading %s: %v", zf.Name, err)
			}
			s.files[zf.Name] = b
		}
	}
	s.zipBytes = whole
	s.closed = true
	w.WriteHeader(204)
}
