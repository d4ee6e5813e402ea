package golive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ksefpl/ksefpl/pkg/conncheck"
	"github.com/ksefpl/ksefpl/pkg/failure"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/queue"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/ksefpl/ksefpl/pkg/submit"
)

// lifecycle queues the test invoice, runs submit for the website with a bounded wait and
// reads the job's audit trail: it must show PENDING, SUBMITTED and ACCEPTED in that order.
func (g *runner) lifecycle(ctx context.Context, data []byte) (Check, *store.Job, error) {
	fail := func(class failure.Class, detail, hint string) (Check, *store.Job, error) {
		return Check{Status: conncheck.Fail, Class: class, Detail: detail, Hint: hint}, nil, nil
	}
	others, err := g.env.DB.Jobs(ctx, store.JobFilter{WebsiteID: g.s.WebsiteID, Statuses: []string{store.JobPending}})
	if err != nil {
		return Check{}, nil, err
	}
	res, err := queue.Enqueue(ctx, g.env, queue.Request{Scope: g.sc, Kind: queue.KindInvoice, Data: data, Actor: g.o.Actor})
	if err != nil {
		if failure.Is(err, failure.Invalid) {
			return fail(failure.Invalid, "the queue refused the test invoice: "+err.Error(), "correct the invoice or the seller configuration")
		}
		return Check{}, nil, fmt.Errorf("queue the test invoice: %w", err)
	}
	j := res.Job
	g.r.JobID = j.ID
	switch {
	case res.Outcome == store.Existed:
		return fail(failure.Invalid, fmt.Sprintf("%s is already queued as job %d (%s): the check needs a new invoice", j.IncrementID, j.ID, j.Status),
			"give the test invoice a new increment_id, or omit --file to use the built-in sample (always a new number)")
	case res.Held():
		return fail(failure.Auth, fmt.Sprintf("job %d was held as AUTH_ERROR: %s", j.ID, j.ReasonDetail),
			"fix the token, then run ksefpl test-connection"+scopeFlag(g.s.WebsiteCode))
	}
	sres, err := submit.Run(ctx, g.env, submit.Options{Website: g.s.WebsiteCode, Wait: g.o.Wait, PollInterval: g.o.PollInterval,
		RunSettings: submit.RunSettings{Actor: g.o.Actor}})
	if err != nil {
		return Check{}, nil, fmt.Errorf("submit the test invoice (job %d): %w", j.ID, err)
	}
	g.r.Warnings = append(g.r.Warnings, sres.Warnings...)
	if err := g.reportOthers(ctx, others); err != nil {
		return Check{}, nil, err
	}
	for _, w := range sres.Websites {
		if w.Error != "" {
			class := w.Class
			hint := "run ksefpl submit --website " + g.s.WebsiteCode + " and ksefpl queue show " + fmt.Sprint(j.ID)
			return fail(class, fmt.Sprintf("submit for website %s failed: %s (job %d left %s)", w.Website, w.Error, j.ID, j.Status), hint)
		}
	}
	if j, err = g.env.DB.JobByID(ctx, j.ID); err != nil {
		return Check{}, nil, err
	}
	trail, err := g.env.DB.Audit(ctx, store.AuditFilter{JobID: j.ID})
	if err != nil {
		return Check{}, nil, err
	}
	path := transitions(trail)
	switch {
	case j.Status == store.JobAccepted:
	case j.Status == store.JobFailed:
		detail := fmt.Sprintf("job %d %s FAILED (%s): %s; trail %s", j.ID, j.IncrementID, j.Reason, j.ReasonDetail, strings.Join(path, " → "))
		return fail(failure.Rejected, detail, "ksefpl queue show "+fmt.Sprint(j.ID)+" has KSeF's codes; fix the cause and run golive:check again")
	case submit.IsDeferral(j):
		detail := fmt.Sprintf("job %d %s was held back (%s): %s; trail %s", j.ID, j.IncrementID, j.Reason, j.ReasonDetail, strings.Join(path, " → "))
		return fail(failure.Unavailable, detail, "it stays PENDING and goes out with a later ksefpl submit"+scopeFlag(g.s.WebsiteCode)+
			" once the cause passes; run golive:check again then")
	case j.Status == store.JobPending && j.ClaimedBy != "":
		detail := fmt.Sprintf("job %d %s was claimed by another submit (%s) before this check could send it; trail %s", j.ID, j.IncrementID, j.ClaimedBy, strings.Join(path, " → "))
		return fail(failure.Unavailable, detail, "another submit (cron?) is sending for this website; wait for it and run golive:check again")
	default:
		detail := fmt.Sprintf("job %d %s is still %s after waiting %s; trail %s", j.ID, j.IncrementID, j.Status, g.o.Wait, strings.Join(path, " → "))
		return fail(failure.Unavailable, detail, "KSeF is slow: run ksefpl submit"+scopeFlag(g.s.WebsiteCode)+" later and ksefpl queue show "+fmt.Sprint(j.ID)+", or rerun with a longer --wait")
	}
	if !inOrder(path, store.JobPending, store.JobSubmitted, store.JobAccepted) {
		return fail(failure.Unknown, fmt.Sprintf("job %d is ACCEPTED but its audit trail is %s, not PENDING → SUBMITTED → ACCEPTED", j.ID, strings.Join(path, " → ")),
			"report this as a bug with the output of ksefpl audit --job "+fmt.Sprint(j.ID))
	}
	var first, accepted time.Time
	for _, e := range trail {
		if e.Event != store.EventTransition {
			continue
		}
		if first.IsZero() {
			first = e.OccurredAt
		}
		if e.ToStatus == store.JobAccepted {
			accepted = e.OccurredAt
		}
	}
	return Check{Detail: fmt.Sprintf("job %d %s: %s in %s (audit trail)", j.ID, j.IncrementID, strings.Join(path, " → "),
		accepted.Sub(first).Round(time.Millisecond))}, j, nil
}

// reportOthers says what the submit run did with the jobs that were PENDING before the
// check queued its invoice: which went out with it, which were held back (deferred,
// with their reasons) and which are still waiting.
func (g *runner) reportOthers(ctx context.Context, before []*store.Job) error {
	var sent, held, waiting []string
	for _, o := range before {
		j, err := g.env.DB.JobByID(ctx, o.ID)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("job %d (%s)", j.ID, j.IncrementID)
		switch {
		case j.Status != store.JobPending:
			sent = append(sent, fmt.Sprintf("%s now %s", name, j.Status))
		case submit.IsDeferral(j):
			held = append(held, fmt.Sprintf("%s %s: %s", name, j.Reason, j.ReasonDetail))
		default:
			waiting = append(waiting, name)
		}
	}
	site := g.s.WebsiteCode
	if len(sent) > 0 {
		g.r.Warnings = append(g.r.Warnings, fmt.Sprintf("%d other job(s) of website %s that were PENDING went out with the same submit run: %s",
			len(sent), site, strings.Join(sent, "; ")))
	}
	if len(held) > 0 {
		g.r.Warnings = append(g.r.Warnings, fmt.Sprintf("%d other job(s) of website %s were held back (deferred, still PENDING): %s",
			len(held), site, strings.Join(held, "; ")))
	}
	if len(waiting) > 0 {
		g.r.Warnings = append(g.r.Warnings, fmt.Sprintf("%d other job(s) of website %s are still PENDING (not sent by this run): %s",
			len(waiting), site, strings.Join(waiting, "; ")))
	}
	return nil
}

// transitions lists the statuses a job's audit trail moved it to, repeats collapsed.
func transitions(trail []store.AuditEntry) []string {
	var out []string
	for _, e := range trail {
		if e.Event != store.EventTransition || e.ToStatus == "" {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != e.ToStatus {
			out = append(out, e.ToStatus)
		}
	}
	return out
}

// inOrder reports whether want occurs in path as a subsequence.
func inOrder(path []string, want ...string) bool {
	i := 0
	for _, p := range path {
		if i < len(want) && p == want[i] {
			i++
		}
	}
	return i == len(want)
}

// ksefNumber reads the job's queue record again: it must carry a well-formed KSeF number
// issued for the configured seller.
func (g *runner) ksefNumber(ctx context.Context, jobID int64) (Check, error) {
	j, err := g.env.DB.JobByID(ctx, jobID)
	if err != nil {
		return Check{}, err
	}
	hint := "ksefpl queue show " + fmt.Sprint(j.ID) + " and ksefpl audit --job " + fmt.Sprint(j.ID) + " show what happened"
	if j.KSeFNumber == "" {
		return Check{Status: conncheck.Fail, Class: failure.Unknown, Detail: fmt.Sprintf("job %d is ACCEPTED but its record has no KSeF number", j.ID), Hint: hint}, nil
	}
	g.r.KSeFNumber = j.KSeFNumber
	if err := ksef.ValidateKSeFNumber(j.KSeFNumber); err != nil {
		return Check{Status: conncheck.Fail, Class: failure.Rejected, Detail: err.Error(), Hint: hint}, nil
	}
	if !strings.HasPrefix(j.KSeFNumber, g.s.Seller.NIP) {
		return Check{Status: conncheck.Fail, Class: failure.Rejected,
			Detail: fmt.Sprintf("KSeF number %s was not issued for the configured seller NIP %s", j.KSeFNumber, g.s.Seller.NIP), Hint: hint}, nil
	}
	return Check{Detail: fmt.Sprintf("job %d has KSeF number %s (checksum valid, seller NIP %s)", j.ID, j.KSeFNumber, g.s.Seller.NIP)}, nil
}

// upo gets the job's UPO (stored by submit, else downloaded now) and checks its hash:
// KSeF's x-ms-meta-hash must have matched at download, and the SHA-256 of the stored
// bytes must still be the recorded one.
func (g *runner) upo(ctx context.Context, jobID int64) (Check, error) {
	hint := "download it again with ksefpl upo:download --job " + fmt.Sprint(jobID) + " --out upo.xml"
	upos, err := submit.GetUPO(ctx, g.env, submit.UPOSelector{JobID: jobID, Actor: g.o.Actor})
	switch {
	case errors.Is(err, submit.ErrNoUPO) || (err == nil && len(upos) == 0):
		return Check{Status: conncheck.Fail, Class: failure.Unavailable, Detail: fmt.Sprintf("no UPO for job %d yet", jobID), Hint: hint}, nil
	case err != nil:
		c := failure.Of(err)
		if c == failure.Unknown {
			return Check{}, fmt.Errorf("get the UPO of job %d: %w", jobID, err)
		}
		return Check{Status: conncheck.Fail, Class: c, Detail: "UPO download: " + err.Error(), Hint: hint}, nil
	}
	u := upos[0]
	got := ksef.SHA256Base64(u.XML)
	g.r.UPOSHA256 = got
	switch {
	case got != u.SHA256:
		return Check{Status: conncheck.Fail, Class: failure.Unknown,
			Detail: fmt.Sprintf("the stored UPO's SHA-256 is %s, recorded %s: the stored copy changed", got, u.SHA256), Hint: hint}, nil
	case !u.HashVerified:
		return Check{Status: conncheck.Fail, Class: failure.Unavailable,
			Detail: fmt.Sprintf("UPO %s was stored without KSeF's x-ms-meta-hash to verify it against", u.UPOReference), Hint: hint}, nil
	case !bytes.Contains(u.XML, []byte(g.r.KSeFNumber)):
		return Check{Status: conncheck.Fail, Class: failure.Rejected,
			Detail: fmt.Sprintf("UPO %s does not mention KSeF number %s", u.UPOReference, g.r.KSeFNumber), Hint: hint}, nil
	}
	return Check{Detail: fmt.Sprintf("UPO %s, %d bytes, SHA-256 %s matches KSeF's x-ms-meta-hash and the stored bytes; names %s",
		u.UPOReference, len(u.XML), got, g.r.KSeFNumber)}, nil
}
