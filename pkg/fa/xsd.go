package fa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ksefpl/ksefpl/internal/lazyre"
)

// reXmllint matches xmllint's error lines: "-:12: element P_11: Schemas validity error : Element '{ns}P_11': msg".
var reXmllint = lazyre.New(`^-:(\d+): (?:element (\S+): )?(.*)$`)

// reNS strips the namespace from element names in xmllint messages.
var reNS = lazyre.New(`\{[^}]*\}`)

// ValidateXSD validates xml against the official schema matching its namespace
// (schemaDir/FA3.xsd or FA2.xsd, with bazowe/ beside them) by running
// `xmllint --nonet --noout --schema`. It returns the schema violations as
// Problems (nil when valid), *ToolError when xmllint is missing or cannot run,
// *SchemaDirError when the schema files are missing, and *ParseError when the
// namespace is neither FA(3) nor FA(2).
func ValidateXSD(ctx context.Context, xml []byte, schemaDir string) ([]Problem, error) {
	d, err := ParseXML(xml)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) && pe.Msg != "" && strings.Contains(pe.Msg, "namespace") {
			return nil, err
		}
		// Malformed XML: let xmllint report it with its line numbers.
	}
	file := "FA3.xsd"
	if d != nil && d.Schema() == FA2 {
		file = "FA2.xsd"
	}
	xsd := filepath.Join(schemaDir, file)
	if _, err := os.Stat(xsd); err != nil {
		return nil, &SchemaDirError{Dir: schemaDir, File: file}
	}
	if _, err := os.Stat(filepath.Join(schemaDir, "bazowe", "StrukturyDanych_v10-0E.xsd")); err != nil {
		return nil, &SchemaDirError{Dir: schemaDir, File: filepath.Join("bazowe", "StrukturyDanych_v10-0E.xsd")}
	}
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		return nil, &ToolError{Msg: "xmllint not found on PATH: install libxml2-utils (Debian/Ubuntu: apt-get install -y libxml2-utils; macOS: brew install libxml2)", Err: err}
	}
	cmd := exec.CommandContext(ctx, bin, "--nonet", "--noout", "--schema", xsd, "-")
	cmd.Stdin = bytes.NewReader(xml)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("xmllint: %w", ctx.Err())
	}
	code := 0
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			return nil, &ToolError{Msg: "cannot run xmllint", Err: runErr}
		}
		code = ee.ExitCode()
	}
	if code == 0 {
		return nil, nil
	}
	if code == 5 {
		return nil, &ToolError{Msg: fmt.Sprintf("xmllint could not compile the schema %s (is bazowe/ complete and the import rewritten to a relative path?)", xsd),
			Err: errors.New(strings.TrimSpace(stderr.String()))}
	}
	var ps []Problem
	for _, line := range strings.Split(stderr.String(), "\n") {
		m := reXmllint.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		msg := strings.TrimSpace(reNS.ReplaceAllString(m[3], ""))
		msg = strings.TrimPrefix(msg, "Schemas validity error : ")
		ps = append(ps, Problem{Line: n, Path: m[2], Msg: msg})
	}
	if len(ps) == 0 {
		ps = append(ps, Problem{Msg: fmt.Sprintf("xmllint exit %d: %s", code, strings.TrimSpace(stderr.String()))})
	}
	return ps, nil
}
