package submit

import (
	"context"
	"errors"
	"fmt"

	"github.com/ksefpl/ksefpl/pkg/store"
)

func leaseName(websiteID int64) string { return fmt.Sprintf("submit:website:%d", websiteID) }

// acquire takes the website's lease, for the work done once per website at a time
// (offline deadlines): false when another run holds it. A lease held by a process of
// this node that no longer exists (killed mid-run) is taken over at once instead of
// waiting for expiry.
func acquire(ctx context.Context, env env, o Options, websiteID int64) (bool, error) {
	name := leaseName(websiteID)
	dead, err := env.DB.AcquireOrTakeOver(ctx, name, env.Holder, o.LeaseTTL)
	var held *store.LeaseHeldError
	switch {
	case errors.As(err, &held):
		return false, nil
	case err != nil:
		return false, err
	case dead != "":
		return true, env.DB.AppendAudit(ctx, store.AuditEntry{WebsiteID: websiteID, Event: store.EventWarning, Actor: env.Actor,
			Reason: "LEASE_TAKEN_OVER", Message: "the previous submit (" + dead + ") ended without releasing its lease"})
	}
	return true, nil
}
