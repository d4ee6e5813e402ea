package ksefsim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ksefpl/ksefpl/internal/lazyre"
)

// invoiceFacts is what the simulator reads from an invoice document. Element lookup
// is namespace-agnostic (local names along the path); the root namespace is kept so
// that it can be compared with the session's form code. Besides what the checks
// need, it keeps what the invoice metadata (POST /invoices/query/metadata) reports.
type invoiceFacts struct {
	rootName      string
	rootNS        string
	sellerNIP     string // Podmiot1/DaneIdentyfikacyjne/NIP
	sellerName    string // Podmiot1/DaneIdentyfikacyjne/Nazwa
	issueDate     string // Fa/P_1
	number        string // Fa/P_2
	kind          string // Fa/RodzajFaktury
	currency      string // Fa/KodWaluty
	buyer         partyID
	third         []thirdParty     // Podmiot3, in document order
	authorized    *authorizedParty // PodmiotUpowazniony
	amounts       map[string]string
	selfInvoicing bool // Fa/Adnotacje/P_17 = 1
	hasAttachment bool // Zalacznik
}

// partyID is the identification of a party (TPodmiot2 / TPodmiot3): one of NIP,
// IDWew, KodUE+NrVatUE, KodKraju+NrID or BrakID, and a name.
type partyID struct {
	nip, internalID, euCode, euVAT, country, otherID, name string
	none                                                   bool
}

// set stores the value of a DaneIdentyfikacyjne child element.
func (p *partyID) set(elem, v string) {
	switch elem {
	case "NIP":
		p.nip = v
	case "IDWew":
		p.internalID = v
	case "KodUE":
		p.euCode = v
	case "NrVatUE":
		p.euVAT = v
	case "KodKraju":
		p.country = v
	case "NrID":
		p.otherID = v
	case "BrakID":
		p.none = v == "1"
	case "Nazwa":
		p.name = v
	}
}

// thirdParty is one Podmiot3: its identification and role (Rola 1-11; RolaInna is 0).
type thirdParty struct {
	id   partyID
	role int
}

// authorizedParty is PodmiotUpowazniony: NIP, name and RolaPU (1-3).
type authorizedParty struct {
	nip, name string
	role      int
}

var (
	utf8BOM     = []byte{0xEF, 0xBB, 0xBF}
	encodingRe  = lazyre.New(`(?i)encoding\s*=\s*["']([^"']*)["']`)
	amountElems = lazyre.New(`^P_1(3_[0-9]+(_[0-9])?|4_[0-9]W?|5)$`)
)

// setFact stores the text of the element at path (the names below the root).
func (f *invoiceFacts) setFact(path []string, v string) {
	switch p := strings.Join(path, "/"); {
	case p == "Podmiot1/DaneIdentyfikacyjne/NIP":
		f.sellerNIP = v
	case p == "Podmiot1/DaneIdentyfikacyjne/Nazwa":
		f.sellerName = v
	case p == "Fa/P_1":
		f.issueDate = v
	case p == "Fa/P_2":
		f.number = v
	case p == "Fa/RodzajFaktury":
		f.kind = v
	case p == "Fa/KodWaluty":
		f.currency = v
	case p == "Fa/Adnotacje/P_17":
		f.selfInvoicing = v == "1"
	case len(path) == 2 && path[0] == "Fa" && amountElems.MatchString(path[1]):
		if f.amounts == nil {
			f.amounts = map[string]string{}
		}
		f.amounts[path[1]] = v
	case len(path) == 3 && path[0] == "Podmiot2" && path[1] == "DaneIdentyfikacyjne":
		f.buyer.set(path[2], v)
	case len(path) >= 2 && path[0] == "Podmiot3" && len(f.third) > 0:
		t := &f.third[len(f.third)-1]
		switch {
		case len(path) == 3 && path[1] == "DaneIdentyfikacyjne":
			t.id.set(path[2], v)
		case p == "Podmiot3/Rola":
			t.role, _ = strconv.Atoi(v)
		}
	case len(path) >= 2 && path[0] == "PodmiotUpowazniony" && f.authorized != nil:
		switch p {
		case "PodmiotUpowazniony/DaneIdentyfikacyjne/NIP":
			f.authorized.nip = v
		case "PodmiotUpowazniony/DaneIdentyfikacyjne/Nazwa":
			f.authorized.name = v
		case "PodmiotUpowazniony/RolaPU":
			f.authorized.role, _ = strconv.Atoi(v)
		}
	}
}

// startFact notes the elements whose mere presence matters (path below the root).
func (f *invoiceFacts) startFact(path []string) {
	if len(path) != 1 {
		return
	}
	switch path[0] {
	case "Podmiot3":
		f.third = append(f.third, thirdParty{})
	case "PodmiotUpowazniony":
		f.authorized = &authorizedParty{}
	case "Zalacznik":
		f.hasAttachment = true
	}
}

// discouraged reports the Unicode code points faktury/weryfikacja-faktury.md forbids.
func discouraged(r rune) bool {
	switch {
	case r >= 0x7F && r <= 0x84, r >= 0x86 && r <= 0x9F, r >= 0xFDD0 && r <= 0xFDEF:
		return true
	case r >= 0x1FFFE && r&0xFFFE == 0xFFFE:
		return true
	}
	return false
}

// parseInvoice checks the XML rules of faktury/weryfikacja-faktury.md that do not need
// the XSD (UTF-8 without BOM, a UTF-8 prolog if any, no processing instructions, no
// discouraged characters, well-formedness) and extracts the facts. It returns the
// facts found so far and the list of problems in Polish, ready for status details.
func parseInvoice(doc []byte) (invoiceFacts, []string) {
	var f invoiceFacts
	if bytes.HasPrefix(doc, utf8BOM) {
		return f, []string{"Dokument zawiera znacznik BOM; faktura musi być kodowana w UTF-8 bez BOM."}
	}
	if !utf8.Valid(doc) {
		return f, []string{"Dokument nie jest poprawnie zakodowany w UTF-8."}
	}
	for _, r := range string(doc) {
		if discouraged(r) {
			return f, []string{fmt.Sprintf("Dokument zawiera niedozwolony znak Unicode U+%04X.", r)}
		}
	}
	if bytes.HasPrefix(doc, []byte("<?xml ")) {
		end := bytes.Index(doc, []byte("?>"))
		if m := encodingRe.FindSubmatch(doc[:max(end, 0)]); m != nil && !strings.EqualFold(string(m[1]), "utf-8") {
			return f, []string{"Prolog XML wskazuje kodowanie '" + string(m[1]) + "'; dozwolone jest wyłącznie UTF-8."}
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var path []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f, []string{"Dokument nie jest poprawnym dokumentem XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" {
				return f, []string{"Dokument zawiera instrukcję przetwarzania '" + t.Target + "', która jest niedozwolona."}
			}
		case xml.StartElement:
			if len(path) == 0 && f.rootName == "" {
				f.rootName, f.rootNS = t.Name.Local, t.Name.Space
			}
			path = append(path, t.Name.Local)
			if len(path) > 1 {
				f.startFact(path[1:])
			}
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(path) > 1 {
				f.setFact(path[1:], strings.TrimSpace(text.String()))
			}
			path = path[:len(path)-1]
			text.Reset()
		}
	}
	if f.rootName == "" {
		return f, []string{"Dokument nie zawiera elementu głównego."}
	}
	return f, nil
}

// semanticProblems checks an invoice against its session: the declared schema
// (root element and namespace), the seller (Podmiot1 NIP must be the context NIP),
// the issue date (P_1 not later than the acceptance date) and the presence of P_2.
func semanticProblems(f invoiceFacts, form FormCode, ctxNIP string, today time.Time) []string {
	var d []string
	if ns, ok := knownNamespaces[form.SystemCode]; ok && (f.rootName != "Faktura" || f.rootNS != ns) {
		d = append(d, fmt.Sprintf("Dokument {%s}%s nie jest zgodny ze schematem %s zadeklarowanym przy otwarciu sesji (oczekiwano {%s}Faktura).",
			f.rootNS, f.rootName, form.SystemCode, ns))
		return d
	}
	switch {
	case f.sellerNIP == "":
		d = append(d, "Brak numeru NIP sprzedawcy (Podmiot1/DaneIdentyfikacyjne/NIP).")
	case f.sellerNIP != ctxNIP:
		d = append(d, fmt.Sprintf("NIP sprzedawcy %s (Podmiot1) nie jest zgodny z kontekstem sesji %s.", f.sellerNIP, ctxNIP))
	}
	if f.number == "" {
		d = append(d, "Brak numeru faktury (P_2).")
	}
	if f.issueDate == "" {
		d = append(d, "Brak daty wystawienia faktury (P_1).")
	} else if p1, err := time.Parse("2006-01-02", f.issueDate); err != nil {
		d = append(d, "Data wystawienia faktury (P_1) '"+f.issueDate+"' nie jest poprawną datą RRRR-MM-DD.")
	} else if p1.After(today) {
		d = append(d, fmt.Sprintf("Data wystawienia faktury (P_1) %s jest późniejsza niż data przyjęcia dokumentu %s.", f.issueDate, today.Format("2006-01-02")))
	}
	return d
}
