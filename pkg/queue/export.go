package queue

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// auditColumns is the CSV header; the order is stable.
var auditColumns = []string{"id", "occurred_at", "website", "website_id", "job_id", "session_reference", "event",
	"from_status", "to_status", "reason", "ksef_code", "ksef_description", "actor", "message"}

// ExportAudit writes rows to w as CSV (a header row, then one row per entry, times in
// RFC 3339 UTC with nanoseconds) or as a JSON array ([] when empty).
func ExportAudit(w io.Writer, format string, rows []AuditView) error {
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(auditColumns); err != nil {
			return fmt.Errorf("write audit CSV: %w", err)
		}
		for _, r := range rows {
			code := ""
			if r.KSeFCode != 0 {
				code = strconv.Itoa(r.KSeFCode)
			}
			job := ""
			if r.JobID != 0 {
				job = strconv.FormatInt(r.JobID, 10)
			}
			if err := cw.Write([]string{strconv.FormatInt(r.ID, 10), r.OccurredAt.UTC().Format(time.RFC3339Nano), r.Website,
				strconv.FormatInt(r.WebsiteID, 10), job, r.SessionReference, r.Event, r.FromStatus, r.ToStatus, r.Reason,
				code, r.KSeFDescription, r.Actor, r.Message}); err != nil {
				return fmt.Errorf("write audit CSV: %w", err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("write audit CSV: %w", err)
		}
		return nil
	case FormatJSON:
		if rows == nil {
			rows = []AuditView{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rows); err != nil {
			return fmt.Errorf("write audit JSON: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown export format %q: use %s or %s", format, FormatCSV, FormatJSON)
}
