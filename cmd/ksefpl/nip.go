package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/nip"
)

// maxNIPLine bounds one line of nip:validate's stdin.
const maxNIPLine = 1 << 20

// nipResult is one nip:validate row (also its JSON shape).
type nipResult struct {
	Input      string `json:"input"`
	Normalized string `json:"normalized"`
	Formatted  string `json:"formatted"`
	Valid      bool   `json:"valid"`
	Reason     string `json:"reason,omitempty"`
	ReasonCode string `json:"reason_code,omitempty"`
}

type nipValidateOptions struct {
	*app
	nips []string
}

func newNIPValidateCmd(a *app) *cobra.Command {
	o := &nipValidateOptions{app: a}
	return &cobra.Command{
		Use:   "nip:validate [NIP...]",
		Short: "Validate NIPs (one per line on stdin when none given); exit 3 if any is invalid",
		Example: `  ksefpl nip:validate 526-104-08-28 PL7740001454
  cut -d, -f3 customers.csv | ksefpl nip:validate -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.nips = args
			return runNIPValidate(cmd.Context(), o)
		},
	}
}

func runNIPValidate(_ context.Context, o *nipValidateOptions) error {
	a := o.app
	inputs := o.nips
	if len(inputs) == 0 {
		sc := bufio.NewScanner(a.io.In)
		sc.Buffer(make([]byte, 64<<10), maxNIPLine)
		line := 0
		for sc.Scan() {
			line++
			if s := strings.TrimSpace(sc.Text()); s != "" {
				inputs = append(inputs, s)
			}
		}
		if errors.Is(sc.Err(), bufio.ErrTooLong) {
			return withClass(failure.Invalid, fmt.Errorf("line %d of stdin is longer than %d bytes: not a NIP; give one NIP per line", line+1, maxNIPLine))
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	}
	if len(inputs) == 0 {
		return &usageErr{errors.New("no NIP given: pass NIPs as arguments or one per line on stdin")}
	}
	results := make([]nipResult, 0, len(inputs))
	invalid := 0
	for _, in := range inputs {
		r := nipResult{Input: in, Normalized: nip.Normalize(in)}
		if err := nip.Validate(r.Normalized); err != nil {
			invalid++
			r.Reason = err.Error()
			if reason, ok := nip.ReasonOf(err); ok {
				r.ReasonCode = reason.String()
			}
		} else {
			r.Valid = true
			r.Formatted = nip.Format(r.Normalized)
		}
		results = append(results, r)
	}
	if a.json() {
		if err := writeJSON(a.io.Out, results); err != nil {
			return err
		}
	} else {
		rows := make([][]string, 0, len(results))
		for _, r := range results {
			verdict := a.io.green("✔ valid")
			if !r.Valid {
				verdict = a.io.red("✘ " + r.Reason)
			}
			rows = append(rows, []string{r.Input, r.Normalized, r.Formatted, verdict})
		}
		if err := writeTable(a.io.Out, []string{"Input", "Normalised", "Formatted", "Result"}, rows); err != nil {
			return err
		}
	}
	if invalid > 0 {
		return silentExit(failure.Invalid)
	}
	return nil
}
