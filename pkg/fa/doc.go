// Package fa owns the structured invoice (e-Faktura) formats that KSeF accepts:
// the FA(3) and FA(2) document model with schema-ordered XML marshalling, the
// builder that turns a shop's invoice or credit-memo JSON (docs/invoice-json.md)
// into a document, a preview Summary, structural checks in Go (Check) and XSD
// validation through xmllint (ValidateXSD).
//
// The package never performs network I/O itself: exchange rates come in through
// BuildOptions.Rate (fa.Rate has the same fields as nbp.Rate, so a caller converts
// with fa.Rate(r)), and the KSeF number of a corrected invoice through
// BuildOptions.LookupOriginal.
package fa
