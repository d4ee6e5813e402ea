package ksefsim

import "strings"

// FormCode names the invoice schema of a session (open-api.json FormCode):
// systemCode "FA (3)" (with the space), schemaVersion "1-0E", value "FA".
type FormCode struct {
	SystemCode    string `json:"systemCode"`
	SchemaVersion string `json:"schemaVersion"`
	Value         string `json:"value"`
}

// Invoice namespaces of the FA structures (schemas/FA3.xsd, FA2.xsd targetNamespace).
const (
	nsFA3 = "http://crd.gov.pl/wzor/2025/06/25/13775/"
	nsFA2 = "http://crd.gov.pl/wzor/2023/06/29/12648/"
)

// knownNamespaces maps a form code's system code to the root namespace its documents
// must use. Codes not listed here are accepted without a namespace check.
var knownNamespaces = map[string]string{
	"FA (3)": nsFA3,
	"FA (2)": nsFA2,
}

// defaultFormCodes is what the TEST environment accepts for FA invoices: FA (3) and,
// on TEST only, FA (2) (research §4.2; OpenAPI OpenOnlineSessionRequest.formCode).
func defaultFormCodes() []FormCode {
	return []FormCode{
		{SystemCode: "FA (3)", SchemaVersion: "1-0E", Value: "FA"},
		{SystemCode: "FA (2)", SchemaVersion: "1-0E", Value: "FA"},
	}
}

// logicalStructureName is the XSD file name the UPO reports for a form code
// (NazwaStrukturyLogicznej, e.g. "Schemat_FA(3)_v1-0E.xsd").
func logicalStructureName(f FormCode) string {
	return "Schemat_" + strings.ReplaceAll(f.SystemCode, " ", "") + "_v" + f.SchemaVersion + ".xsd"
}

// formCodeText renders a form code for error details.
func formCodeText(f FormCode) string {
	return f.SystemCode + " / " + f.SchemaVersion + " / " + f.Value
}
