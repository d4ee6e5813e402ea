package ksef

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// PacerOptions configure a Pacer. The zero value paces by the official table
// in real time.
type PacerOptions struct {
	// Limits replaces the official table (DefaultRateLimits); groups missing
	// from it keep the official values.
	Limits RateLimits
	// TimeScale, when above 1, runs the pacer's clock that many times faster
	// than real time (its waits are that much shorter), for tests against a
	// simulator whose clock is compressed the same way. Default 1.
	TimeScale float64
}

// Pacer spaces KSeF calls so that they stay within the rate limits instead of
// running into HTTP 429. KSeF counts calls per (context, IP address) over
// sliding windows of a second, a minute and an hour, all at once
// (limity/limity-api.md §1); a Pacer keeps, per context (the NIP a token was
// issued for) and group, three golang.org/x/time/rate limiters — one per
// window — and lets a call through only when all three have a token, taking
// the three at the same instant. The public group is counted per IP only.
//
// A token bucket with burst b and rate r lets b + r·W calls into any window of
// length W, so each limiter of a limit L over W gets burst b = max(1, L'/5)
// and rate (L'−b)/W with L' = L − max(1, L/10): at most L' < L calls fall into
// any window, with room for the network moving calls closer together on
// their way to KSeF. A fifth of each window as burst lets short runs go
// quickly; a long run is paced at about 70–80 % of each official rate.
//
// A window reported as −1 (NoRateLimit) or zero has no limiter. When the
// global group has a limit (it is off today), every call also takes a token
// of the per-IP global bucket, at the same instant as its own group's.
//
// One Pacer may be shared by every Client of a process (the limits are per
// context and IP, not per client). It is safe for concurrent use. A 429 that
// arrives anyway blocks the bucket for the Retry-After KSeF asked for.
type Pacer struct {
	scale  float64
	origin time.Time

	mu      sync.Mutex
	limits  RateLimits
	buckets map[string]*paceBucket
	stats   map[RateGroup]*GroupStats
}

// paceBucket is one (context, group or endpoint) counter.
type paceBucket struct {
	group    RateGroup
	limiters []*rate.Limiter
	windows  []time.Duration
	blocked  time.Time // no call before this instant (after a 429)
}

// GroupStats are a Pacer's counters for one group.
type GroupStats struct {
	// Calls is the number of calls let through.
	Calls int64
	// Waits is the number of calls that had to wait for a free slot.
	Waits int64
	// Waited is the total (pacer-clock) time calls waited.
	Waited time.Duration
	// TooManyRequests is the number of HTTP 429 answers received anyway.
	TooManyRequests int64
	// Retries is the number of attempts after a call's first (after a 429, a 5xx or
	// a network error).
	Retries int64
}

// PacerStats are the counters of every group that saw traffic.
type PacerStats map[RateGroup]GroupStats

// Total sums the counters over all groups.
func (s PacerStats) Total() GroupStats {
	var t GroupStats
	for _, g := range s {
		t.Calls += g.Calls
		t.Waits += g.Waits
		t.Waited += g.Waited
		t.TooManyRequests += g.TooManyRequests
		t.Retries += g.Retries
	}
	return t
}

// NewPacer builds a Pacer.
func NewPacer(o PacerOptions) *Pacer {
	p := &Pacer{scale: o.TimeScale, origin: time.Now(), limits: DefaultRateLimits(),
		buckets: map[string]*paceBucket{}, stats: map[RateGroup]*GroupStats{}}
	if p.scale < 1 {
		p.scale = 1
	}
	for g, l := range o.Limits {
		p.limits[g] = l
	}
	return p
}

// now is the pacer's clock (real time, or compressed by TimeScale).
func (p *Pacer) now() time.Time {
	if p.scale == 1 {
		return time.Now()
	}
	return p.origin.Add(time.Duration(float64(time.Since(p.origin)) * p.scale))
}

// sleep waits d of pacer time.
func (p *Pacer) sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, time.Duration(float64(d)/p.scale))
}

// Limits returns a copy of the limits in use.
func (p *Pacer) Limits() RateLimits {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limits.clone()
}

// SetLimits replaces the limits of the groups in l (for example with the
// answer of GET /rate-limits). Existing counters keep the calls already
// counted.
func (p *Pacer) SetLimits(l RateLimits) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for g, v := range l {
		p.limits[g] = v
	}
	for _, b := range p.buckets {
		if v, ok := l[b.group]; ok {
			b.configure(v, now)
		}
	}
}

// Stats returns a snapshot of the counters.
func (p *Pacer) Stats() PacerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := PacerStats{}
	for g, s := range p.stats {
		out[g] = *s
	}
	return out
}

// windowsOf lists the (limit, window) pairs of a row with a threshold.
func windowsOf(l RateLimit) (limits []int, windows []time.Duration) {
	for _, w := range []struct {
		n int
		d time.Duration
	}{{l.PerSecond, time.Second}, {l.PerMinute, time.Minute}, {l.PerHour, time.Hour}} {
		if w.n > 0 {
			limits = append(limits, w.n)
			windows = append(windows, w.d)
		}
	}
	return limits, windows
}

// bucketShape returns the burst and rate that keep any window of length w
// below n calls (see Pacer).
func bucketShape(n int, w time.Duration) (rate.Limit, int) {
	eff := n - max(1, n/10)
	if eff < 1 {
		// A limit of 1 per window: one call per window, no burst.
		return rate.Limit(1 / w.Seconds() * 0.9), 1
	}
	burst := max(1, eff/5)
	r := float64(eff-burst) / w.Seconds()
	if r <= 0 {
		r = 1 / w.Seconds() * 0.9
	}
	return rate.Limit(r), burst
}

// configure (re)builds the limiters of a bucket for a row, keeping existing
// limiters (and their state) where the window stays.
func (b *paceBucket) configure(l RateLimit, now time.Time) {
	limits, windows := windowsOf(l)
	old := map[time.Duration]*rate.Limiter{}
	for i, w := range b.windows {
		old[w] = b.limiters[i]
	}
	b.limiters, b.windows = b.limiters[:0], windows
	for i, n := range limits {
		r, burst := bucketShape(n, windows[i])
		if lim := old[windows[i]]; lim != nil {
			lim.SetLimitAt(now, r)
			lim.SetBurstAt(now, burst)
			b.limiters = append(b.limiters, lim)
			continue
		}
		b.limiters = append(b.limiters, rate.NewLimiter(r, burst))
	}
}

// bucket returns (creating) the bucket for a call.
func (p *Pacer) bucket(key string, group RateGroup) *paceBucket {
	b := p.buckets[key]
	if b == nil {
		b = &paceBucket{group: group}
		b.configure(p.limits[group], p.now())
		p.buckets[key] = b
	}
	return b
}

// statsOf returns the counters of a group (p.mu held).
func (p *Pacer) statsOf(g RateGroup) *GroupStats {
	s := p.stats[g]
	if s == nil {
		s = &GroupStats{}
		p.stats[g] = s
	}
	return s
}

// paceKey is the bucket key of a call: the context (empty for the public
// and global groups, counted per IP) and the group, or the endpoint for
// "other".
func paceKey(contextID string, group RateGroup, method, path string) string {
	switch group {
	case RateGroupPublic:
		return "ip|public"
	case RateGroupGlobal:
		return globalKey
	case RateGroupOther:
		return contextID + "|other|" + endpointKey(method, path)
	}
	return contextID + "|" + string(group)
}

// Wait blocks until a call of method and path (relative to the API base) in
// the context contextID (a NIP, or any stable name of the authenticated
// context; empty for public calls) fits all the windows of its group, then
// counts it. It returns ctx.Err() when the context ends first.
func (p *Pacer) Wait(ctx context.Context, contextID, method, path string) error {
	group := RateGroupFor(method, path)
	return p.wait(ctx, paceKey(contextID, group, method, path), group)
}

func (p *Pacer) wait(ctx context.Context, key string, group RateGroup) error {
	waited := time.Duration(0)
	for {
		p.mu.Lock()
		buckets := []*paceBucket{p.bucket(key, group)}
		if group != RateGroupGlobal && p.limits[RateGroupGlobal].Limited() {
			buckets = append(buckets, p.bucket(globalKey, RateGroupGlobal))
		}
		now := p.now()
		delay := time.Duration(0)
		for _, b := range buckets {
			delay = max(delay, b.delay(now))
		}
		if delay <= 0 {
			for _, b := range buckets {
				for _, lim := range b.limiters {
					lim.AllowN(now, 1)
				}
			}
			s := p.statsOf(group)
			s.Calls++
			if waited > 0 {
				s.Waits++
				s.Waited += waited
			}
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		delay = max(delay, time.Millisecond)
		if err := p.sleep(ctx, delay); err != nil {
			return err
		}
		waited += delay
	}
}

// globalKey is the bucket of the global group: every call of this IP address.
const globalKey = "ip|global"

// delay is how long a call must wait at now for this bucket (0: it may go).
func (b *paceBucket) delay(now time.Time) time.Duration {
	d := time.Duration(0)
	if now.Before(b.blocked) {
		d = b.blocked.Sub(now)
	}
	for _, lim := range b.limiters {
		if tok := lim.TokensAt(now); tok < 1 {
			d = max(d, time.Duration((1-tok)/float64(lim.Limit())*float64(time.Second)))
		}
	}
	return d
}

// retried counts an attempt after a call's first.
func (p *Pacer) retried(group RateGroup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.statsOf(group).Retries++
}

// tooMany records a 429 for the bucket and blocks it for retryAfter.
func (p *Pacer) tooMany(key string, group RateGroup, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.statsOf(group).TooManyRequests++
	b := p.bucket(key, group)
	if retryAfter > 0 {
		if until := p.now().Add(retryAfter); until.After(b.blocked) {
			b.blocked = until
		}
	}
}
