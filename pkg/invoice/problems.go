package invoice

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/failure"
)

// Problem sources.
const (
	SourceInput  = "input"  // the shop JSON
	SourceConfig = "config" // the website's configuration
)

// Problem is one reason a document cannot be built, naming the JSON field or the
// configuration path to fix.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	// Source is SourceInput or SourceConfig.
	Source string `json:"source"`
}

// String renders "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// InvalidError lists every problem that stops a document from being built, one per line,
// each naming the JSON field or the configuration path to fix. Its class is invalid; it
// unwraps to the fa error behind the problems, when there is one.
type InvalidError struct {
	// Subject names the input, e.g. its file path.
	Subject  string
	Problems []Problem
	Err      error
}

// Error lists the problems and says what to do.
func (e *InvalidError) Error() string {
	var b strings.Builder
	if n := len(e.Problems); n == 1 {
		fmt.Fprintf(&b, "invalid invoice input %s:", e.Subject)
	} else {
		fmt.Fprintf(&b, "invalid invoice input %s (%d problems):", e.Subject, n)
	}
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	b.WriteString("\nFix the input (see docs/invoice-json.md) or the configuration and run the command again.")
	return b.String()
}

// Summary lists the problems on one line (for a job's reason).
func (e *InvalidError) Summary() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid invoice input: " + strings.Join(parts, "; ")
}

// Unwrap returns the fa error behind the problems, if any.
func (e *InvalidError) Unwrap() error { return e.Err }

// Class is failure.Invalid.
func (e *InvalidError) Class() failure.Class { return failure.Invalid }

// HasConfigProblem reports whether a problem comes from the configuration.
func (e *InvalidError) HasConfigProblem() bool {
	for _, p := range e.Problems {
		if p.Source == SourceConfig {
			return true
		}
	}
	return false
}

// CheckError reports structural-check findings on XML that must not be sent.
type CheckError struct{ Problems []fa.Problem }

// Error lists the findings.
func (e *CheckError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid invoice: " + strings.Join(parts, "; ")
}

// Class is failure.Invalid.
func (e *CheckError) Class() failure.Class { return failure.Invalid }

// sellerPaths maps the builder's seller fields to the configuration paths that set them:
// the one copy of this map.
var sellerPaths = map[string]string{
	"seller.nip":           config.PathSellerNIP,
	"seller.name":          config.PathSellerName,
	"seller.address_line1": config.PathSellerAddress1,
	"seller.address_line2": config.PathSellerAddress2,
	"seller.country_code":  config.PathSellerCountry,
	"seller.bank_account":  config.PathSellerBankAccount,
	"seller.bank_swift":    config.PathSellerBankSWIFT,
	"seller.bank_name":     config.PathSellerBankName,
}

// problemsOf turns an fa error about the input into problems; ok is false when err is
// not about the input.
func problemsOf(err error, websiteCode string) ([]Problem, bool) {
	var list fa.InputErrors
	if errors.As(err, &list) {
		out := make([]Problem, 0, len(list))
		for _, e := range list {
			out = append(out, fieldProblem(e.Field, e.Msg, websiteCode))
		}
		return out, true
	}
	var te *fa.TotalsMismatchError
	var re *fa.RateError
	var ie *fa.InputError
	switch {
	case errors.As(err, &te):
		return []Problem{{Path: "grand_total", Message: te.Error(), Source: SourceInput}}, true
	case errors.As(err, &re):
		return []Problem{{Path: "exchange_rate", Message: re.Error(), Source: SourceInput}}, true
	case errors.As(err, &ie):
		return []Problem{fieldProblem(ie.Field, ie.Msg, websiteCode)}, true
	case failure.Is(err, failure.Invalid):
		return []Problem{{Message: err.Error(), Source: SourceInput}}, true
	}
	return nil, false
}

// fieldProblem is a problem with one field; a seller field comes from configuration and
// says how to set it.
func fieldProblem(field, msg, websiteCode string) Problem {
	if p, ok := sellerPaths[field]; ok {
		return Problem{Path: field, Source: SourceConfig,
			Message: msg + " (set it with: ksefpl config:set " + p + " VALUE" + ScopeFlags(websiteCode) + ")"}
	}
	return Problem{Path: field, Message: msg, Source: SourceInput}
}

// missingSeller reports the seller settings every document needs that have no value,
// with the command that sets each.
func missingSeller(s fa.Seller, websiteCode string) []Problem {
	var out []Problem
	for _, f := range []struct{ field, value, path, example string }{
		{"seller.nip", s.NIP, config.PathSellerNIP, "5261040828"},
		{"seller.name", s.Name, config.PathSellerName, "'Sklep sp. z o.o.'"},
		{"seller.address_line1", s.AddressLine1, config.PathSellerAddress1, "'ul. Prosta 1'"},
	} {
		if strings.TrimSpace(f.value) == "" {
			out = append(out, Problem{Path: f.field, Source: SourceConfig, Message: fmt.Sprintf(
				"no seller %s configured for website %q: run ksefpl config:set %s %s%s",
				strings.TrimPrefix(f.field, "seller."), websiteCode, f.path, f.example, ScopeFlags(websiteCode))})
		}
	}
	return out
}

// ScopeFlags are the config:set flags that target a website ("" for base, whose values
// usually live at the default scope).
func ScopeFlags(websiteCode string) string {
	if websiteCode == "" || websiteCode == "base" {
		return ""
	}
	return " --scope websites --scope-code " + websiteCode
}
