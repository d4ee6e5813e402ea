package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/offline"
	"github.com/ksefpl/ksefpl/pkg/qr"
)

// qrOut is the JSON shape of invoice:qr.
type qrOut struct {
	Link        string   `json:"link"`
	Label       string   `json:"label"`
	PNG         string   `json:"png"`
	KSeFNumber  string   `json:"ksef_number"`
	JobID       int64    `json:"job_id"`
	Website     string   `json:"website"`
	Environment string   `json:"environment"`
	Width       int      `json:"png_width,omitempty"`
	Height      int      `json:"png_height,omitempty"`
	Warnings    []string `json:"warnings"`
	// Offline invoices: their mode and deadline, and both codes.
	Mode     string     `json:"mode,omitempty"`
	Deadline string     `json:"deadline,omitempty"`
	Kod1     *qrCodeOut `json:"kod1,omitempty"`
	Kod2     *qrCodeOut `json:"kod2,omitempty"`
}

// qrCodeOut is one code of an offline invoice in JSON.
type qrCodeOut struct {
	Link  string `json:"link"`
	Label string `json:"label"`
}

type invoiceQROptions struct {
	*app
	sel       qr.Selector
	png       string
	size      int
	sizeGiven bool
	kod       int
}

func newInvoiceQRCmd(a *app) *cobra.Command {
	o := &invoiceQROptions{app: a}
	cmd := &cobra.Command{
		Use:   "invoice:qr --job ID | --ksef-number N [--png FILE] [--kod 1|2] [--size PX] [--website CODE]",
		Short: "Print the KSeF verification links (KOD I; KOD II for an offline invoice) and optionally write the QR codes as PNG",
		Long: `invoice:qr builds the KOD I verification link of a queued invoice from its frozen XML
(the exact bytes sent to KSeF): {QR service}/invoice/{seller NIP}/{P_1 as DD-MM-YYYY}/{SHA-256, Base64URL}.
The QR service is the one of the website's environment (qr-test, qr-demo or qr.ksef.mf.gov.pl; the
simulator's /qr for local). The label under the code is the KSeF number, or OFFLINE before KSeF
assigned one. --size is the width of the code in pixels (default: 5 pixels per module).

An invoice issued offline also carries KOD II, labelled CERTYFIKAT: {QR service}/certificate/Nip/
{context NIP}/{seller NIP}/{Offline certificate serial}/{SHA-256}/{signature}, signed with the
website's KSeF certificate of type Offline. --png then writes both codes side by side, each with
its label; --kod 1 or --kod 2 writes one. -o json carries both links (kod1, kod2).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.sizeGiven = cmd.Flags().Changed("size")
			return runInvoiceQR(cmd.Context(), o)
		},
	}
	cmd.Flags().Int64Var(&o.sel.JobID, "job", 0, "queue job id")
	cmd.Flags().StringVar(&o.sel.KSeFNumber, "ksef-number", "", "KSeF number of an accepted invoice")
	cmd.Flags().StringVar(&o.sel.Website, "website", "", "website code the job must belong to")
	cmd.Flags().StringVar(&o.png, "png", "", "write the QR code with its label to this PNG file")
	cmd.Flags().IntVar(&o.size, "size", 0, "width of each code in pixels, quiet zone included (default: 5 px per module)")
	cmd.Flags().IntVar(&o.kod, "kod", 0, "with --png: only KOD I (1) or only KOD II (2); default both for an offline invoice")
	return cmd
}

func runInvoiceQR(ctx context.Context, o *invoiceQROptions) error {
	a, sel, pngPath, size := o.app, o.sel, o.png, o.size
	if (sel.JobID != 0) == (sel.KSeFNumber != "") {
		return &usageErr{errors.New("give exactly one of --job and --ksef-number")}
	}
	if sel.JobID < 0 {
		return &usageErr{fmt.Errorf("invalid --job %d: use a job id from ksefpl queue list", sel.JobID)}
	}
	if o.sizeGiven && pngPath == "" {
		return &usageErr{errors.New("--size sets the PNG's width: give --png FILE too")}
	}
	if o.sizeGiven && (size < 1 || size > qr.MaxSize) {
		return &usageErr{fmt.Errorf("invalid --size %d: use 1..%d pixels", size, qr.MaxSize)}
	}
	if o.kod < 0 || o.kod > 2 {
		return &usageErr{fmt.Errorf("invalid --kod %d: use 1 (KOD I, the invoice) or 2 (KOD II, the certificate)", o.kod)}
	}
	if o.kod == 2 {
		sel.Certificate = true
	}
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	code, err := qr.ForJob(ctx, d, sel)
	if err != nil {
		return err
	}
	out := qrOut{Link: code.Link, Label: code.Label, PNG: pngPath, KSeFNumber: code.KSeFNumber, JobID: code.JobID,
		Website: code.Website, Environment: string(code.Environment), Warnings: code.Warnings, Mode: code.OfflineMode}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	if code.Offline() {
		// An offline invoice is printed with both codes: without KOD II it is incomplete.
		if code.CertificateErr != nil {
			return code.CertificateErr
		}
		out.Deadline = offline.DescribeStored(code.Deadline, code.DeadlineLifted)
		out.Kod1 = &qrCodeOut{Link: code.Link, Label: code.Label}
		out.Kod2 = &qrCodeOut{Link: code.Certificate.Link, Label: code.Certificate.Label}
	} else if o.kod == 2 && code.CertificateErr == nil && code.Certificate != nil {
		out.Kod2 = &qrCodeOut{Link: code.Certificate.Link, Label: code.Certificate.Label}
	}
	if pngPath != "" {
		codes, err := code.Codes(qr.Kod(o.kod))
		if err != nil {
			return err
		}
		sheet, err := qr.RenderCodes(size, codes...)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(pngPath, func(f *os.File) error { _, err := f.Write(sheet.PNG); return err }); err != nil {
			return err
		}
		out.Width, out.Height = sheet.Width, sheet.Height
		var labels []string
		for _, c := range codes {
			labels = append(labels, fmt.Sprintf("%q", c.Label))
		}
		defer fmt.Fprintf(a.io.ErrOut, "QR code(s) written to %s (%dx%d px, label(s) %s)\n", pngPath, out.Width, out.Height, strings.Join(labels, ", "))
	}
	if a.json() {
		return writeJSON(a.io.Out, out)
	}
	for _, w := range code.Warnings {
		a.warn(w)
	}
	fmt.Fprintf(a.io.Out, "Job %d (%s %s, website %s, %s)\n", code.JobID, code.EntityType, esc(code.IncrementID), code.Website, code.Status)
	if out.Kod2 != nil && code.Offline() {
		fmt.Fprintf(a.io.Out, "Issued offline (%s); send by %s\n", code.OfflineMode, out.Deadline)
		fmt.Fprintf(a.io.Out, "KOD I:  %s\n        label %s\n", code.Link, code.Label)
		fmt.Fprintf(a.io.Out, "KOD II: %s\n        label %s\n", out.Kod2.Link, out.Kod2.Label)
	} else {
		fmt.Fprintf(a.io.Out, "Link:  %s\n", code.Link)
		fmt.Fprintf(a.io.Out, "Label: %s\n", code.Label)
		if out.Kod2 != nil {
			fmt.Fprintf(a.io.Out, "KOD II: %s (label %s)\n", out.Kod2.Link, out.Kod2.Label)
		}
	}
	if code.KSeFNumber == "" {
		fmt.Fprintln(a.io.ErrOut, "Note: KSeF has not assigned a number yet, so the label is OFFLINE; run ksefpl submit and ask again for the numbered label.")
	}
	return nil
}
