package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/invoice"
)

// envXSDDir names the schema directory when --xsd is not given.
const envXSDDir = "KSEFPL_XSD_DIR"

// schemasBesideBinary are the directories, relative to the directory of the ksefpl
// binary (symlinks resolved), where the official schemas are looked for when neither
// --xsd nor KSEFPL_XSD_DIR names one: schemas/ beside the binary (a release archive), and
// the ../shared/schemas of a checkout whose binary is at its top or in bin/ (make build).
// Never relative to the working directory, so cron finds the same schemas as a shell.
func schemasBesideBinary() []string {
	return []string{"schemas", filepath.Join("..", "shared", "schemas"), filepath.Join("..", "..", "shared", "schemas")}
}

// xsdFlagHelp is the help of --xsd (invoice:validate, golive:check).
const xsdFlagHelp = "directory of the official schemas (FA3.xsd, FA2.xsd, bazowe/); default $" + envXSDDir +
	", else schemas/ or ../shared/schemas beside the ksefpl binary"

// xsdHowTo tells the user how to enable XSD validation.
const xsdHowTo = "pass --xsd DIR, set " + envXSDDir + ", or put schemas/ beside the ksefpl binary: a folder holding FA3.xsd, FA2.xsd and bazowe/ " +
	"(the official KSeF schemas, github.com/CIRFMF/ksef-docs faktury/schemy/FA), and install xmllint (libxml2-utils)"

type invoiceValidateOptions struct {
	*app
	invoiceBuildFlags
	file string
	xsd  string
}

// validateOut is invoice:validate's JSON.
type validateOut struct {
	File     string       `json:"file"`
	Valid    bool         `json:"valid"`
	Schema   string       `json:"schema,omitempty"`
	Problems []problemOut `json:"problems"`
	// Warnings are findings on ready XML that KSeF does not enforce (fa.Problem.Warning):
	// printed, never a reason to refuse.
	Warnings []problemOut `json:"warnings"`
	XSD      string       `json:"xsd"` // "validated" or "skipped: reason"
}

func newInvoiceValidateCmd(a *app) *cobra.Command {
	o := &invoiceValidateOptions{app: a}
	cmd := &cobra.Command{
		Use:   "invoice:validate FILE.xml|FILE.json",
		Short: "Validate an invoice XML (or the XML built from a shop JSON): structural checks and XSD",
		Long: `Validates an FA(3)/FA(2) invoice. A .json file (or one starting with '{') is a shop document:
it is built first, exactly as invoice:preview builds it (seller and schema from the website's
configuration, NBP rate when needed). XML is validated as it is.

Two layers run: ksefpl's structural checks (encoding, header, NIP checksums, codes, dates,
amount formats, P_15 arithmetic) and the official XSD through xmllint. On ready XML, a rule
that KSeF itself does not enforce (P_15 equal to the sum of the P_13_x/P_14_x amounts) is a
warning: printed, and the document still valid; on a document built from shop JSON it is an error. The schema directory is
--xsd DIR, else $KSEFPL_XSD_DIR, else the first of these, relative to the ksefpl binary (not the
current directory), that holds FA3.xsd: schemas/, ../shared/schemas, ../../shared/schemas. When
none is found (or xmllint is missing and no directory was named), the verdict says "XSD skipped",
a notice says how to enable it, and the result rests on the structural checks alone. A directory named by --xsd or KSEFPL_XSD_DIR must
hold the schemas and xmllint must be installed, or the command fails with exit 3.

Problems are listed as "line N: element path: message". Exit 0 valid, 3 invalid.
-o json prints {"file", "valid", "schema", "problems": [{"line", "path", "message", "source"}], "warnings": […], "xsd"}.`,
		Example: `  ksefpl invoice:validate INV-000123.xml --xsd ./schemas
  ksefpl invoice:validate INV-000123.json -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			if err := o.check(); err != nil {
				return err
			}
			return runInvoiceValidate(cmd.Context(), o)
		},
	}
	o.register(cmd)
	cmd.Flags().StringVar(&o.xsd, "xsd", "", xsdFlagHelp)
	return cmd
}

// isJSONInput reports whether the file is a shop JSON document rather than XML.
func isJSONInput(name string, b []byte) bool {
	if strings.EqualFold(filepath.Ext(name), ".json") {
		return true
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// schemaDir picks the XSD directory: --xsd, then $KSEFPL_XSD_DIR (both explicit), then
// the first of schemasBesideBinary that holds FA3.xsd. dir is "" when none is available.
func (a *app) schemaDir(flag string) (dir string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if env := a.getenv(envXSDDir); env != "" {
		return env, true
	}
	exe, err := a.executable()
	if err != nil {
		return "", false
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	for _, rel := range schemasBesideBinary() {
		d := filepath.Join(filepath.Dir(exe), rel)
		if _, err := os.Stat(filepath.Join(d, "FA3.xsd")); err == nil {
			return d, false
		}
	}
	return "", false
}

func runInvoiceValidate(ctx context.Context, o *invoiceValidateOptions) error {
	a := o.app
	raw, err := a.readInput(o.file)
	if err != nil {
		return err
	}
	res := validateOut{File: o.file, Problems: []problemOut{}, Warnings: []problemOut{}}
	xml, checks := raw, []fa.Problem(nil)
	if isJSONInput(o.file, raw) {
		b, err := a.buildInvoice(ctx, o.file, raw, &o.invoiceBuildFlags)
		var ie *invoice.InvalidError
		switch {
		case errors.As(err, &ie):
			res.Problems = inputProblems(ie)
			res.XSD = "skipped: the input JSON could not be built into XML"
			return a.reportValidation(res)
		case err != nil:
			return err
		}
		xml, checks = b.XML, b.Problems
	} else {
		// Ready XML: ksefpl's own rules are warnings here (fa.Problem.Warning), while
		// they stay errors for a document built from shop JSON.
		checks = fa.Check(xml)
		res.Warnings = checkProblems(fa.Warnings(checks))
		checks = fa.Errors(checks)
	}
	if d, perr := fa.ParseXML(xml); perr == nil {
		res.Schema = string(d.Schema())
	}
	res.Problems = append(res.Problems, checkProblems(checks)...)

	dir, explicit := a.schemaDir(o.xsd)
	switch {
	case dir == "":
		res.XSD = "skipped: no schema directory; " + xsdHowTo
	case res.Schema == "":
		res.XSD = "skipped: the document is not a readable FA(3)/FA(2) invoice"
	default:
		ps, err := fa.ValidateXSD(ctx, xml, dir)
		var te *fa.ToolError
		switch {
		case err == nil:
			res.XSD = "validated"
			res.Problems = append(res.Problems, problemsOf(ps, "xsd")...)
		case errors.As(err, &te) && !explicit:
			res.XSD = "skipped: " + te.Error()
		default:
			var sd *fa.SchemaDirError
			if errors.As(err, &sd) || errors.As(err, &te) {
				return withClass(failure.Invalid, fmt.Errorf("XSD validation: %w", err))
			}
			return fmt.Errorf("XSD validation: %w", err)
		}
	}
	return a.reportValidation(res)
}

// reportValidation prints the verdict and problems; invalid ends with exit 3.
func (a *app) reportValidation(res validateOut) error {
	res.Valid = len(res.Problems) == 0
	skipped := strings.HasPrefix(res.XSD, "skipped")
	if a.json() {
		if err := writeJSON(a.io.Out, res); err != nil {
			return err
		}
	} else {
		schema := res.Schema
		if schema == "" {
			schema = "FA"
		}
		switch {
		case !res.Valid:
			fmt.Fprintf(a.io.Out, "%s %s is not a valid %s invoice (%d problem(s)):\n", a.io.red("✘"), esc(res.File), schema, len(res.Problems))
			for _, p := range res.Problems {
				fmt.Fprintln(a.io.Out, esc(p.String()))
			}
		case skipped:
			fmt.Fprintf(a.io.Out, "%s %s passes the structural checks (%s); XSD skipped\n", a.io.green("✔"), esc(res.File), schema)
		default:
			fmt.Fprintf(a.io.Out, "%s %s is a valid %s invoice (structural checks and XSD)\n", a.io.green("✔"), esc(res.File), schema)
		}
	}
	if !a.json() {
		printWarnings(a, res.Warnings)
	}
	if skipped && !a.json() {
		fmt.Fprintln(a.io.ErrOut, a.io.yellow("XSD validation "+res.XSD))
	}
	if !res.Valid {
		return silentExit(failure.Invalid)
	}
	return nil
}

// printWarnings lists findings that do not make a ready XML invalid.
func printWarnings(a *app, ws []problemOut) {
	for _, w := range ws {
		fmt.Fprintln(a.io.Out, a.io.yellow("warning: ")+esc(w.String()))
	}
}
