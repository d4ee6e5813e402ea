package ksefsim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// invoiceFacts is what the simulator reads from an invoice document. Element lookup
// is namespace-agnostic (local names along the path); the root namespace is kept so
// that it can be compared with the session's form code.
type invoiceFacts struct {
	rootName  string
	rootNS    string
	sellerNIP string // Podmiot1/DaneIdentyfikacyjne/NIP
	issueDate string // Fa/P_1
	number    string // Fa/P_2
	kind      string // Fa/RodzajFaktury
}

var (
	utf8BOM     = []byte{0xEF, 0xBB, 0xBF}
	encodingRe  = regexp.MustCompile(`(?i)encoding\s*=\s*["']([^"']*)["']`)
	wantedPaths = map[string]func(f *invoiceFacts, v string){
		"Podmiot1/DaneIdentyfikacyjne/NIP": func(f *invoiceFacts, v string) { f.sellerNIP = v },
		"Fa/P_1":                           func(f *invoiceFacts, v string) { f.issueDate = v },
		"Fa/P_2":                           func(f *invoiceFacts, v string) { f.number = v },
		"Fa/RodzajFaktury":                 func(f *invoiceFacts, v string) { f.kind = v },
	}
)

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
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(path) > 1 {
				if set, ok := wantedPaths[strings.Join(path[1:], "/")]; ok {
					set(&f, strings.TrimSpace(text.String()))
				}
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
