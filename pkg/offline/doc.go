// Package offline owns KSeF's offline invoicing modes and their deadlines: the three
// modes an invoice can be issued in outside the online flow (offline24, offline,
// awaryjny), the Polish business-day calendar the deadlines are counted in, the
// KSeF events (failures, announced unavailability, total failures) that set or move
// a deadline, and the turning of Latarnia messages into those events.
//
// Everything here is a pure function of its arguments: no clock, no I/O. Callers
// store jobs and Latarnia messages, then call Compute with an invoice's mode, its
// issue date (P_1) and the events they know of, and store or show the Deadline.
//
// Days are calendar days in Europe/Warsaw. A time.Time argument that names a day is
// read as the Warsaw calendar day of its instant (Day), so both midnight in Warsaw
// and midnight UTC (time.Parse(time.DateOnly, …)) name the intended day; event
// times are instants, converted the same way. A deadline is a day: the invoice must
// reach KSeF before that day ends in Warsaw.
//
// The rules come from the Ministry of Finance's "Tryby offline" guide (art. 106nda,
// 106nf and 106nh of the VAT act); Compute documents how each ambiguous case is read.
// Where a reading had to be chosen, the package picks the one that never yields a
// deadline later than the law allows, and says in Deadline.Basis when that made it
// earlier than another reading would.
package offline
