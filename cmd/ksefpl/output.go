package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/ksefpl/ksefpl/internal/lazyre"
)

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeTable prints rows under header as a table.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewWriter(w)
	h := make([]any, len(header))
	for i, s := range header {
		h[i] = esc(s)
	}
	t.Header(h...)
	safe := make([][]string, len(rows))
	for i, r := range rows {
		safe[i] = make([]string, len(r))
		for j, c := range r {
			safe[i][j] = escCell(c)
		}
	}
	if err := t.Bulk(safe); err != nil {
		return fmt.Errorf("render table: %w", err)
	}
	return t.Render()
}

// esc makes text safe to print on a terminal: control characters other than tab and
// newline (ESC, CR, BEL, the C1 range, DEL) are shown escaped (\x1b, \u009b) instead of
// being sent to the terminal, so that data — an increment id, a KSeF message, a config
// value — can never move the cursor, retitle the window or fake output.
func esc(text string) string {
	if strings.IndexFunc(text, isControl) < 0 {
		return text
	}
	var b strings.Builder
	for _, r := range text {
		switch {
		case !isControl(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// isControl reports the control characters esc escapes.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n') || (r >= 0x7f && r <= 0x9f)
}

// painted matches one whole cell coloured by ioStreams.paint (whose text is already
// escaped): an SGR colour, text without control characters, and the reset.
var painted = lazyre.New(`^\x1b\[[0-9;]*m[^\x00-\x08\x0b-\x1f\x7f-\x9f]*\x1b\[0m$`)

// escCell is esc for a table cell that may be coloured as a whole by paint.
func escCell(cell string) string {
	if painted.MatchString(cell) {
		return cell
	}
	return esc(cell)
}
