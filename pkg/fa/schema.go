package fa

import "fmt"

// Schema names a structured-invoice schema.
type Schema string

// The supported schemas. Production KSeF accepts only FA3; the test environment
// also accepts FA2.
const (
	FA3 Schema = "FA3"
	FA2 Schema = "FA2"
)

// MaxSize is the largest invoice KSeF accepts without attachments, in bytes.
const MaxSize = 1_000_000

// schemaInfo holds the fixed header values of one schema.
type schemaInfo struct {
	namespace    string
	kodSystemowy string
	wariant      string
	xsdFile      string
	minCreated   string // minimum DataWytworzeniaFa (RFC 3339)
}

// info returns the fixed values for s, or an error naming the supported schemas.
func (s Schema) info() (schemaInfo, error) {
	switch s {
	case FA3:
		return schemaInfo{NamespaceFA3, "FA (3)", "3", "FA3.xsd", "2025-09-01T00:00:00Z"}, nil
	case FA2:
		return schemaInfo{NamespaceFA2, "FA (2)", "2", "FA2.xsd", "2022-01-01T00:00:00Z"}, nil
	}
	return schemaInfo{}, fmt.Errorf("unknown schema %q: use %q (production) or %q (test environment only)", string(s), FA3, FA2)
}

// schemaForNamespace maps a document namespace to its schema.
func schemaForNamespace(ns string) (Schema, bool) {
	switch ns {
	case NamespaceFA3:
		return FA3, true
	case NamespaceFA2:
		return FA2, true
	}
	return "", false
}
