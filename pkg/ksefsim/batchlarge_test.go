package ksefsim

import (
	"archive/zip"
	"fmt"
	"testing"
)

// TestBatchTenThousandInvoices processes a package at the session limit (10 000 small
// invoices, one part, parts kept on disk). With -short it uses 1 000 invoices.
func TestBatchTenThousandInvoices(t *testing.T) {
	t.Parallel()
	n := maxInvoicesPerSession
	if testing.Short() {
		n = 1000
	}
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1, StorageDir: t.TempDir()})
	access := e.loggedIn(testNIP)
	b := e.newBatch(access, buildZipMethod(t, e.invoicesPkg(testNIP, "FL/2026", n), zip.Store), 2, "")
	b.open()
	b.uploadAll()
	b.close()
	st, _ := b.waitBatch()
	if st.Status.Code != 200 || st.InvoiceCount != n || st.SuccessfulInvoiceCount != n {
		t.Fatalf("large batch: %+v", st.Status)
	}
	if st.UPO == nil || len(st.UPO.Pages) != 1 {
		t.Fatalf("UPO pages %+v, want one page of %d", st.UPO, n)
	}
	if _, docs := upoDocs(t, e.download(st.UPO.Pages[0].DownloadURL).body); len(docs) != n {
		t.Fatalf("the UPO lists %d invoices, want %d", len(docs), n)
	}
	numbered := 0
	for _, inv := range e.sim.Invoices() {
		if inv.SessionReferenceNumber == b.ref && inv.KSeFNumber != "" {
			numbered++
		}
	}
	if numbered != n {
		t.Fatalf("%d invoices numbered, want %d", numbered, n)
	}
	e.noViolations()
}

// TestBatchOverTheInvoiceLimit: one file more than a session may hold ends in 420
// (the ZIP's central directory says so before any file is read).
func TestBatchOverTheInvoiceLimit(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, Config{InvoiceStepPolls: -1})
	access := e.loggedIn(testNIP)
	files := make([]pkgFile, maxInvoicesPerSession+1)
	for i := range files {
		files[i] = pkgFile{name: fmt.Sprintf("f%05d.xml", i), data: []byte("<Faktura/>")}
	}
	b := e.newBatch(access, buildZipMethod(t, files, zip.Store), 1, "")
	b.open()
	b.uploadAll()
	b.close()
	if st, _ := b.waitBatch(); st.Status.Code != 420 || st.Status.Description != descBatchLimit || st.InvoiceCount != 0 {
		t.Fatalf("10 001 invoices: %+v", st)
	}
	e.noViolations()
}
