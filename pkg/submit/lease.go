package submit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/ksefpl/ksefpl/pkg/store"
)

func leaseName(websiteID int64) string { return fmt.Sprintf("submit:website:%d", websiteID) }

// acquire takes the website's lease. A lease held by a process of this host that no
// longer exists (killed mid-run) is taken over at once instead of waiting for expiry.
func acquire(ctx context.Context, env env, o Options, websiteID int64) error {
	name := leaseName(websiteID)
	err := env.DB.AcquireLease(ctx, name, env.Holder, o.LeaseTTL)
	var held *store.LeaseHeldError
	if !errors.As(err, &held) {
		return err
	}
	if holderDead(held.Holder) {
		if err := env.DB.TakeOverLease(ctx, name, held.Holder, env.Holder, o.LeaseTTL); err == nil {
			return env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: websiteID, Event: store.EventWarning, Actor: env.Actor,
				Reason: "LEASE_TAKEN_OVER", Message: "the previous submit (" + held.Holder + ") ended without releasing its lease"})
		}
	}
	return fmt.Errorf("%w (%v)", ErrLeaseHeld, held)
}

// holderDead reports whether a holder "host|pid|nonce" names a process on this host
// that has ended.
func holderDead(holder string) bool {
	parts := strings.Split(holder, "|")
	if len(parts) != 3 {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[1])
	if parts[0] != host || err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}
