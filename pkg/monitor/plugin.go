package monitor

import (
	"fmt"
	"strconv"
	"strings"
)

// line is the plugin output: "KSEFPL STATE - what is wrong | perfdata". The text names
// each measure that is not OK, by website; when all are OK it says how many websites
// were checked. Perfdata labels are website_measure.
func (r *Report) line() string {
	var bad []string
	for _, w := range r.Websites {
		var ms []string
		for _, m := range w.Measures {
			if m.State != OK {
				ms = append(ms, m.Reason)
			}
		}
		if len(ms) > 0 {
			bad = append(bad, w.Website+": "+strings.Join(ms, ", "))
		}
	}
	text := fmt.Sprintf("%d websites checked", len(r.Websites))
	if len(r.Websites) == 1 {
		text = "website " + r.Websites[0].Website + " checked"
	}
	if len(bad) > 0 {
		text = strings.Join(bad, "; ")
	}
	line := "KSEFPL " + r.State.String() + " - " + pluginText(text)
	if perf := r.perfdata(); perf != "" {
		line += " | " + perf
	}
	return line
}

// perfdata is 'label'=value[unit];warn;crit for every measure.
func (r *Report) perfdata() string {
	var out []string
	for _, w := range r.Websites {
		for _, m := range w.Measures {
			v := "U"
			if m.Value != nil {
				v = strconv.FormatFloat(*m.Value, 'f', -1, 64) + m.Unit
			}
			out = append(out, fmt.Sprintf("'%s_%s'=%s;%s;%s", perfLabel(w.Website), m.Name, v, m.Warn, m.Crit))
		}
	}
	return strings.Join(out, " ")
}

// UnknownLine is the plugin output when the store cannot be read.
func UnknownLine(err error) string {
	return "KSEFPL UNKNOWN - " + pluginText(err.Error())
}

// pluginText keeps the text on one line and free of the perfdata separator.
func pluginText(s string) string {
	return strings.NewReplacer("|", "/", "\n", " ", "\r", " ").Replace(s)
}

// perfLabel keeps a label free of the quote and equals sign that delimit it.
func perfLabel(s string) string { return strings.NewReplacer("'", "_", "=", "_").Replace(s) }
