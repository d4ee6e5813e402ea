package ksef

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

// buildTestPackage builds n invoices into parts of maxPart bytes.
func buildTestPackage(t *testing.T, n, pad int, maxPart int64) *BatchPackage {
	t.Helper()
	p, err := BuildBatchPackage(context.Background(), invoicesOf(n, pad), BatchPackageOptions{Dir: t.TempDir(), Limits: BatchLimits{MaxPartSize: maxPart}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBatchSessionOpenUploadClose(t *testing.T) {
	f := newFakeBatch(t)
	c := f.client(t, nil)
	ctx := context.Background()
	p := buildTestPackage(t, 25, 400, 4096)
	bs, err := c.OpenBatchSession(ctx, f.keys.access, FormCodeFA3(), p, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bs.ReferenceNumber, "-SB-") || len(bs.PartUploadRequests) != len(p.Parts) {
		t.Fatalf("session %s with %d upload requests for %d parts", bs.ReferenceNumber, len(bs.PartUploadRequests), len(p.Parts))
	}
	for _, r := range bs.PartUploadRequests {
		if s := r.String() + fmt.Sprintf("%#v", r); strings.Contains(s, "s3cr3t") {
			t.Errorf("an upload request shows its signature: %s", s)
		}
	}
	if err := c.UploadBatchParts(ctx, bs, p.Parts, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseBatchSession(ctx, f.keys.access, bs.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	s := f.sessions[bs.ReferenceNumber]
	f.mu.Unlock()
	if s.req.FormCode != FormCodeFA3() || s.req.BatchFile.CompressionType != "Zip" || s.req.OfflineMode {
		t.Errorf("declared %+v compression %q offline %v", s.req.FormCode, s.req.BatchFile.CompressionType, s.req.OfflineMode)
	}
	if len(s.files) != 25 {
		t.Fatalf("KSeF unzipped %d files, want 25", len(s.files))
	}
	for _, e := range p.Entries {
		if SHA256Base64(s.files[e.FileName]) != e.Hash {
			t.Errorf("%s arrived with another hash", e.FileName)
		}
	}
	// Closing twice is harmless (21180 counts as closed).
	if err := c.CloseBatchSession(ctx, f.keys.access, bs.ReferenceNumber); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestBatchUploadsRunInParallelWithinTheBound(t *testing.T) {
	f := newFakeBatch(t)
	c := f.client(t, nil)
	ctx := context.Background()
	p := buildTestPackage(t, 30, 400, 2048)
	if len(p.Parts) < 6 {
		t.Fatalf("only %d parts", len(p.Parts))
	}
	bs, err := c.OpenBatchSession(ctx, f.keys.access, FormCodeFA3(), p, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.barrier = 3 // the first three uploads wait for one another
	f.mu.Unlock()
	if err := c.UploadBatchParts(ctx, bs, p.Parts, 3); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	maxIn := f.maxInflight
	f.mu.Unlock()
	if maxIn != 3 {
		t.Errorf("at most %d uploads were in flight together, want exactly the bound 3", maxIn)
	}
	if err := c.CloseBatchSession(ctx, f.keys.access, bs.ReferenceNumber); err != nil {
		t.Fatal(err)
	}
}

func TestBatchUploadRetriesAPartOn503(t *testing.T) {
	f := newFakeBatch(t)
	c := f.client(t, nil)
	ctx := context.Background()
	p := buildTestPackage(t, 10, 400, 2048)
	bs, err := c.OpenBatchSession(ctx, f.keys.access, FormCodeFA3(), p, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.fail503[2] = 2
	f.mu.Unlock()
	if err := c.UploadBatchParts(ctx, bs, p.Parts, 4); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	got2, got1 := f.attempts[2], f.attempts[1]
	f.mu.Unlock()
	if got2 != 3 || got1 != 1 {
		t.Errorf("part 2 was tried %d times (want 3: two 503s, then 201), part 1 %d times (want 1)", got2, got1)
	}
	if err := c.CloseBatchSession(ctx, f.keys.access, bs.ReferenceNumber); err != nil {
		t.Fatalf("close after the retried upload: %v", err)
	}
}

func TestBatchUploadRefusedIsReportedPerPart(t *testing.T) {
	f := newFakeBatch(t)
	c := f.client(t, nil)
	ctx := context.Background()
	p := buildTestPackage(t, 10, 400, 2048)
	bs, err := c.OpenBatchSession(ctx, f.keys.access, FormCodeFA3(), p, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.forbid = true
	f.mu.Unlock()
	err = c.UploadBatchParts(ctx, bs, p.Parts, 2)
	var be *BatchUploadError
	if !errors.As(err, &be) || len(be.Failed) != len(p.Parts) {
		t.Fatalf("forbidden uploads: %v", err)
	}
	var pe *PartUploadError
	if !errors.As(err, &pe) || pe.HTTPStatus != 403 || pe.Code != "AuthorizationPermissionMismatch" || pe.Attempts != 1 {
		t.Fatalf("first failure: %+v", pe)
	}
	if failure.Of(err) != failure.Rejected || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "upload window") {
		t.Errorf("class %v, message %q", failure.Of(err), err)
	}
	// Nothing was uploaded, so closing names the missing part (21205).
	err = c.CloseBatchSession(ctx, f.keys.access, bs.ReferenceNumber)
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(ErrCodeBatchPartMissing) || !strings.Contains(err.Error(), "upload every part") {
		t.Errorf("close without parts: %v", err)
	}
}

func TestBatchOpenRefetchesRotatedKey(t *testing.T) {
	f := newFakeBatch(t)
	c := f.client(t, nil)
	ctx := context.Background()
	if _, err := c.PublicKey(ctx, UsageSymmetricKeyEncryption); err != nil {
		t.Fatal(err)
	}
	f.keys.rotateKey()
	f.mu.Lock()
	f.rejectOldKey = true
	f.mu.Unlock()
	p := buildTestPackage(t, 3, 10, 0)
	bs, err := c.OpenBatchSession(ctx, f.keys.access, FormCodeFA3(), p, BatchOptions{OfflineMode: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /sessions/batch"); n != 2 {
		t.Errorf("%d openings, want 2 (21470, then the new key)", n)
	}
	if n := f.count("GET /security/public-key-certificates"); n != 2 {
		t.Errorf("%d key fetches, want 2", n)
	}
	f.mu.Lock()
	offline := f.sessions[bs.ReferenceNumber].req.OfflineMode
	f.mu.Unlock()
	if !offline {
		t.Error("offlineMode was not declared")
	}
}

func TestBatchOpenNeedsAPackage(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1/v2", nil)
	var ce *ConfigError
	if _, err := c.OpenBatchSession(context.Background(), "t", FormCodeFA3(), &BatchPackage{}, BatchOptions{}); !errors.As(err, &ce) {
		t.Errorf("empty package: %v", err)
	}
	if err := c.UploadBatchParts(context.Background(), &BatchSession{}, nil, 1); !errors.As(err, &ce) {
		t.Errorf("no parts: %v", err)
	}
}

func TestBatchUploadRefusesPlainHTTPToRemoteHosts(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1/v2", nil)
	p := buildTestPackage(t, 1, 10, 0)
	bs := &BatchSession{ReferenceNumber: "x", PartUploadRequests: []PartUploadRequest{{OrdinalNumber: 1, Method: "PUT", URL: "http://storage.example.com/part?sig=s3cr3t"}}}
	err := c.UploadBatchParts(context.Background(), bs, p.Parts, 1)
	var pe *PartUploadError
	if !errors.As(err, &pe) || pe.HTTPStatus != 0 || strings.Contains(err.Error(), "s3cr3t") || !bytes.Contains([]byte(err.Error()), []byte("https")) {
		t.Errorf("plain http upload link: %v", err)
	}
}
