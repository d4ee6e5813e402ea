package main

import (
	"errors"

	"github.com/ksefpl/ksefpl/pkg/fa"
	"github.com/ksefpl/ksefpl/pkg/ksef"
	"github.com/ksefpl/ksefpl/pkg/nbp"
)

// classCode maps the error classes of the KSeF and invoice packages to exit codes.
func classCode(err error) (int, bool) {
	if fa.IsInvalid(err) {
		return exitInvalid, true
	}
	var (
		nbpNet     *nbp.NetworkError
		nbpUnknown *nbp.UnknownCurrencyError
		nbpNoTable *nbp.NoTableError
	)
	switch {
	case errors.As(err, &nbpNet):
		return exitUnavailable, true
	case errors.As(err, &nbpUnknown), errors.As(err, &nbpNoTable):
		return exitInvalid, true
	}
	switch ksef.Classify(err) {
	case ksef.ClassInvalid:
		return exitInvalid, true
	case ksef.ClassAuth:
		return exitAuth, true
	case ksef.ClassRejected:
		return exitRejected, true
	case ksef.ClassUnavailable:
		return exitUnavailable, true
	}
	return 0, false
}
