package config

import (
	"context"
	"errors"
	"testing"
)

// The seller's bank account is checked (IBAN length and mod-97) and normalised on save;
// a Polish NRB gets its PL prefix.
func TestBankAccountPaths(t *testing.T) {
	svc, _, _ := newService(t, nil)
	ctx := context.Background()
	res, err := svc.Set(ctx, PathSellerBankAccount, "61 1090 1014 0000 0712 1981 2874", Default)
	if err != nil || res.Saved != "PL61109010140000071219812874" {
		t.Fatalf("NRB: %+v, %v", res, err)
	}
	var ie *InvalidValueError
	if _, err := svc.Set(ctx, PathSellerBankAccount, "PL61 1090 1014 0000 0712 1981 2875", Default); !errors.As(err, &ie) {
		t.Errorf("bad checksum: %v", err)
	}
	if res, err := svc.Set(ctx, PathSellerBankSWIFT, "bpkoplpw", Default); err != nil || res.Saved != "BPKOPLPW" {
		t.Errorf("SWIFT: %+v, %v", res, err)
	}
	if _, err := svc.Set(ctx, PathSellerBankSWIFT, "BPKO", Default); !errors.As(err, &ie) {
		t.Errorf("bad SWIFT: %v", err)
	}
}
