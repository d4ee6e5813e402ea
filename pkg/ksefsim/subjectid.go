package ksefsim

import (
	"fmt"
	"net/http"
	"strings"
)

// headerFeature is the X-KSeF-Feature request header; featureSubjectIDs is the value
// that, on session open (online and batch, API 2.8.0+), switches on the validation
// of the NIP numbers and internal identifiers of the parties on the invoices
// ("Włącza walidację numerów NIP oraz identyfikatorów wewnętrznych podmiotów
// wskazanych na fakturze"). faktury/weryfikacja-faktury.md describes that check as
// production-only: the NIP checksum of Podmiot1, Podmiot2, Podmiot3 and
// PodmiotUpowazniony, and the NIP checksum inside Podmiot3's IDWew. On the TEST
// environment, which the simulator plays, it applies only to sessions opened with the
// header; an invoice that fails it ends with status 450 (semantic error).
const (
	headerFeature     = "X-KSeF-Feature"
	featureSubjectIDs = "subject-identifier-validation"
)

// wantsSubjectIDValidation reports whether the request asks for the feature (the
// header may be repeated or list several comma-separated values).
func wantsSubjectIDValidation(r *http.Request) bool {
	for _, v := range r.Header.Values(headerFeature) {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), featureSubjectIDs) {
				return true
			}
		}
	}
	return false
}

// nipWeights are the NIP check-digit weights.
var nipWeights = [9]int{6, 5, 7, 2, 3, 4, 5, 6, 7}

// validNIPChecksum reports whether nip is 10 digits whose last digit is the checksum
// of the first nine (sum of digit × weight, modulo 11; 10 is never valid).
func validNIPChecksum(nip string) bool {
	if !validNIPShape(nip) {
		return false
	}
	sum := 0
	for i, w := range nipWeights {
		sum += int(nip[i]-'0') * w
	}
	return sum%11 != 10 && sum%11 == int(nip[9]-'0')
}

// identifierProblems lists, in Polish, the identifiers of an invoice that fail the
// subject-identifier validation: NIP checksums of every party and the NIP part of
// Podmiot3's IDWew ("NIP-12345").
func identifierProblems(f invoiceFacts) []string {
	var d []string
	check := func(where, nip string) {
		if nip != "" && !validNIPChecksum(nip) {
			d = append(d, fmt.Sprintf("Nieprawidłowy numer NIP %s (%s): błędna suma kontrolna.", nip, where))
		}
	}
	check("Podmiot1", f.sellerNIP)
	check("Podmiot2", f.buyer.nip)
	for i, t := range f.third {
		where := fmt.Sprintf("Podmiot3[%d]", i+1)
		check(where, t.id.nip)
		if id := t.id.internalID; id != "" {
			nip, _, _ := strings.Cut(id, "-")
			if !validNIPChecksum(nip) {
				d = append(d, fmt.Sprintf("Nieprawidłowy identyfikator wewnętrzny %s (%s): błędna suma kontrolna numeru NIP.", id, where))
			}
		}
	}
	if f.authorized != nil {
		check("PodmiotUpowazniony", f.authorized.nip)
	}
	return d
}
