package failure_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/ksefpl/ksefpl/pkg/failure"
)

type classed struct{ c failure.Class }

func (e classed) Error() string        { return "classed" }
func (e classed) Class() failure.Class { return e.c }

func TestOf(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want failure.Class
	}{
		{"nil", nil, failure.None},
		{"plain", errors.New("x"), failure.Unknown},
		{"typed", classed{failure.Auth}, failure.Auth},
		{"wrapped typed", fmt.Errorf("context: %w", classed{failure.Rejected}), failure.Rejected},
		{"typed without a class", classed{failure.None}, failure.Unknown},
		{"explicit wins over the wrapped class", failure.New(failure.Invalid, classed{failure.Auth}), failure.Invalid},
		{"silent", failure.New(failure.Partial, nil), failure.Partial},
		{"timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), failure.Unavailable},
		{"net.OpError", &net.OpError{Op: "dial", Err: errors.New("refused")}, failure.Unavailable},
		{"DNS", &net.DNSError{Err: "no such host", Name: "x"}, failure.Unavailable},
	} {
		if got := failure.Of(c.err); got != c.want {
			t.Errorf("%s: Of = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestErrorMessageAndUnwrap(t *testing.T) {
	inner := errors.New("inner")
	err := failure.New(failure.Invalid, inner)
	if err.Error() != "inner" || !errors.Is(err, inner) {
		t.Errorf("New: %q, Is inner %v", err, errors.Is(err, inner))
	}
	if failure.New(failure.Partial, nil).Error() != "" {
		t.Error("a failure without an error has no message")
	}
	if !failure.Is(err, failure.Invalid) || failure.Is(err, failure.Auth) {
		t.Error("Is")
	}
}
