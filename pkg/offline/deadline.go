package offline

import "time"

// Deadline is when an offline invoice must reach KSeF.
type Deadline struct {
	// Day is the last day, at midnight Europe/Warsaw: the invoice must reach KSeF
	// before it ends. Zero when Open or Lifted.
	Day time.Time
	// Open: the deadline depends on an event whose end is not known yet.
	Open bool
	// Lifted: a total failure lifted the duty to send the invoice to KSeF.
	Lifted bool
	// Basis says in one sentence how the deadline was computed, e.g. "7 business days
	// after the failure FAIL-12 ended on 2025-07-12, …".
	Basis string
}

// Date returns Day as YYYY-MM-DD, or "" when there is no day (Open or Lifted).
func (d Deadline) Date() string {
	if d.Open || d.Lifted || d.Day.IsZero() {
		return ""
	}
	return d.Day.In(warsaw).Format(time.DateOnly)
}

// String returns the deadline and its basis: "2025-07-22: …", "open: …" or
// "lifted: …".
func (d Deadline) String() string {
	switch {
	case d.Lifted:
		return "lifted: " + d.Basis
	case d.Open:
		return "open: " + d.Basis
	case d.Day.IsZero():
		return "none"
	}
	return d.Date() + ": " + d.Basis
}

// End returns the instant the deadline runs out: midnight in Warsaw at the start of
// the day after Day. ok is false when there is no day (Open or Lifted).
func (d Deadline) End() (end time.Time, ok bool) {
	if d.Open || d.Lifted || d.Day.IsZero() {
		return time.Time{}, false
	}
	day := Day(d.Day)
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, warsaw), true
}

// DueSoon is how close a deadline must be for ksefpl to warn about it (status, and the
// shop through an offline.deadline_near event).
const DueSoon = 4 * time.Hour

// Remaining returns how long is left at now until the deadline runs out (negative
// once it has); ok is false when there is no day (Open or Lifted).
func (d Deadline) Remaining(now time.Time) (left time.Duration, ok bool) {
	end, ok := d.End()
	if !ok {
		return 0, false
	}
	return end.Sub(now), true
}

// Missed reports whether the deadline ran out at or before now. An Open or Lifted
// deadline is never missed.
func (d Deadline) Missed(now time.Time) bool {
	end, ok := d.End()
	return ok && !now.Before(end)
}

// DescribeStored describes a deadline as a job stores it: its day (YYYY-MM-DD, "" while
// open) and whether a total failure lifted it.
func DescribeStored(day string, lifted bool) string {
	switch {
	case lifted:
		return "lifted (a total KSeF failure: no duty to send)"
	case day == "":
		return "open (it depends on a KSeF failure or unavailability that has not ended)"
	}
	return day
}
