package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

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
}

type invoiceQROptions struct {
	*app
	sel       qr.Selector
	png       string
	size      int
	sizeGiven bool
}

func newInvoiceQRCmd(a *app) *cobra.Command {
	o := &invoiceQROptions{app: a}
	cmd := &cobra.Command{
		Use:   "invoice:qr --job ID | --ksef-number N [--png FILE] [--size PX] [--website CODE]",
		Short: "Print the KSeF verification link (KOD I) of a sent invoice and optionally write its QR code as PNG",
		Long: `invoice:qr builds the KOD I verification link of a queued invoice from its frozen XML
(the exact bytes sent to KSeF): {QR service}/invoice/{seller NIP}/{P_1 as DD-MM-YYYY}/{SHA-256, Base64URL}.
The QR service is the one of the website's environment (qr-test, qr-demo or qr.ksef.mf.gov.pl; the
simulator's /qr for local). The label under the code is the KSeF number, or OFFLINE before KSeF
assigned one. --size is the width of the code in pixels (default: 5 pixels per module).`,
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
	cmd.Flags().IntVar(&o.size, "size", 0, "width of the code in pixels, quiet zone included (default: 5 px per module)")
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
	d, err := a.deps(ctx)
	if err != nil {
		return err
	}
	code, err := qr.ForJob(ctx, d, sel)
	if err != nil {
		return err
	}
	out := qrOut{Link: code.Link, Label: code.Label, PNG: pngPath, KSeFNumber: code.KSeFNumber, JobID: code.JobID,
		Website: code.Website, Environment: string(code.Environment), Warnings: code.Warnings}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	if pngPath != "" {
		img, err := qr.Render(code.Link, qr.Options{Size: size, Label: code.Label})
		if err != nil {
			return err
		}
		if err := writeFileAtomic(pngPath, func(f *os.File) error { _, err := f.Write(img.PNG); return err }); err != nil {
			return err
		}
		out.Width, out.Height = img.Width, img.Height
	}
	if a.json() {
		return writeJSON(a.io.Out, out)
	}
	for _, w := range code.Warnings {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("Warning: "+w))
	}
	fmt.Fprintf(a.io.Out, "Job %d (%s %s, website %s, %s)\n", code.JobID, code.EntityType, code.IncrementID, code.Website, code.Status)
	fmt.Fprintf(a.io.Out, "Link:  %s\n", code.Link)
	fmt.Fprintf(a.io.Out, "Label: %s\n", code.Label)
	if code.KSeFNumber == "" {
		fmt.Fprintln(a.io.ErrOut, "Note: KSeF has not assigned a number yet, so the label is OFFLINE; run ksefpl submit and ask again for the numbered label.")
	}
	if pngPath != "" {
		fmt.Fprintf(a.io.ErrOut, "QR code written to %s (%dx%d px, label %q under the code)\n", pngPath, out.Width, out.Height, code.Label)
	}
	return nil
}
