package main

import (
	"context"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/deps"
	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/qr"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// offlineIssueOut is the JSON of a document issued offline by queue.
type offlineIssueOut struct {
	JobID       int64         `json:"job_id"`
	IncrementID string        `json:"increment_id"`
	Mode        string        `json:"mode"`
	Deadline    string        `json:"deadline"`
	Basis       string        `json:"deadline_basis"`
	Kod1        qrCodeOut     `json:"kod1"`
	Kod2        qrCodeOut     `json:"kod2"`
	Outcome     string        `json:"outcome"`
	Job         queue.JobView `json:"job"`
	Warnings    []string      `json:"warnings"`
}

// renderOfflineIssue prints what the shop must print on an invoice issued offline: both
// codes with their labels, and the deadline.
func (a *app) renderOfflineIssue(ctx context.Context, d *deps.Deps, res *queue.Result, outcome string) error {
	j := res.Job
	code, err := qr.ForJob(ctx, d, qr.Selector{JobID: j.ID})
	if err != nil {
		return err
	}
	if code.CertificateErr != nil {
		return code.CertificateErr
	}
	out := offlineIssueOut{JobID: j.ID, IncrementID: j.IncrementID, Mode: string(res.Offline.Mode),
		Deadline: offline.DescribeStored(j.Deadline, j.DeadlineLifted), Basis: res.Offline.Deadline.Basis,
		Kod1: qrCodeOut{Link: code.Link, Label: code.Label}, Kod2: qrCodeOut{Link: code.Certificate.Link, Label: code.Certificate.Label},
		Outcome: outcome, Warnings: append(append([]string{}, res.Warnings...), code.Warnings...)}
	if a.json() {
		views, err := queue.Views(ctx, d.DB, []*store.Job{j})
		if err != nil {
			return err
		}
		out.Job = views[0]
		return writeJSON(a.io.Out, out)
	}
	for _, w := range out.Warnings {
		a.warn(w)
	}
	fmt.Fprintf(a.io.Out, "Issued %s %s offline (%s) as job %d: %s.\n", j.EntityType, esc(j.IncrementID), out.Mode, j.ID, res.Offline.Why)
	fmt.Fprintf(a.io.Out, "Send to KSeF by: %s — %s\n", out.Deadline, res.Offline.Deadline.Basis)
	fmt.Fprintln(a.io.Out, "Print both codes on the invoice:")
	fmt.Fprintf(a.io.Out, "  KOD I  (label %s):     %s\n", out.Kod1.Label, out.Kod1.Link)
	fmt.Fprintf(a.io.Out, "  KOD II (label %s): %s\n", out.Kod2.Label, out.Kod2.Link)
	fmt.Fprintf(a.io.Out, "PNG with both: ksefpl invoice:qr --job %d --png FILE\n", j.ID)
	return nil
}

// runTechnicalCorrection gives a rejected offline job its corrected XML.
func runTechnicalCorrection(ctx context.Context, o *queueAddOptions, data []byte) error {
	a := o.app
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	j, err := queue.CorrectTechnically(ctx, d, queue.CorrectionRequest{JobID: o.correctionOf, Data: data, Actor: a.actor()})
	if err != nil {
		return err
	}
	if a.json() {
		views, err := queue.Views(ctx, d.DB, []*store.Job{j})
		if err != nil {
			return err
		}
		return writeJSON(a.io.Out, queueAddOut{Outcome: "technical_correction", Job: views[0], Warnings: []string{}})
	}
	fmt.Fprintf(a.io.Out, "Job %d (%s %s) now holds the technical correction (SHA-256 %s) of its rejected offline document (SHA-256 %s); it is %s, and the next submit sends it with hashOfCorrectedInvoice.\n",
		j.ID, j.EntityType, esc(j.IncrementID), j.InvoiceHash, j.CorrectedHash, j.Status)
	return nil
}
