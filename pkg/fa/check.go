package fa

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

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/internal/lazyre"
	"github.com/ksefpl/ksefpl/pkg/nip"
)

// Problem is one finding of Check or ValidateXSD. Line is 1-based (0 when the
// problem concerns the whole document); Path is the element path such as
// "Faktura/Fa/FaWiersz[2]/P_11" (an index appears from the second sibling on).
// Warning marks a rule of ksefpl's own that KSeF and the schema do not enforce
// (such as P_15 being the sum of the P_13_x/P_14_x amounts): a document ksefpl did
// not build is accepted with it, one built from shop JSON is not.
type Problem struct {
	Line    int
	Path    string
	Msg     string
	Warning bool
}

// Errors returns the problems that are not warnings.
func Errors(ps []Problem) []Problem { return filterProblems(ps, false) }

// Warnings returns the problems that are warnings.
func Warnings(ps []Problem) []Problem { return filterProblems(ps, true) }

func filterProblems(ps []Problem, warning bool) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Warning == warning {
			out = append(out, p)
		}
	}
	return out
}

// String renders the problem as "line N: path: message".
func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Path != "":
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Path, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	case p.Path != "":
		return p.Path + ": " + p.Msg
	}
	return p.Msg
}

var (
	reKwotowy  = lazyre.New(`^-?([1-9]\d{0,15}|0)(\.\d{1,2})?$`)
	reKwotowy2 = lazyre.New(`^-?([1-9]\d{0,13}|0)(\.\d{1,8})?$`)
	reIlosci   = lazyre.New(`^-?([1-9]\d{0,15}|0)(\.\d{1,6})?$`)
	reProcent  = lazyre.New(`^(100(\.0{1,6})?|[1-9]?\d(\.\d{1,6})?)$`)
)

var (
	rateCodesFA3 = map[string]bool{"23": true, "22": true, "8": true, "7": true, "5": true, "4": true, "3": true,
		"0 KR": true, "0 WDT": true, "0 EX": true, "zw": true, "oo": true, "np I": true, "np II": true}
	rateCodesFA2 = map[string]bool{"23": true, "22": true, "8": true, "7": true, "5": true, "4": true, "3": true,
		"0": true, "zw": true, "oo": true, "np": true}
	invoiceKinds = map[string]bool{"VAT": true, "KOR": true, "ZAL": true, "ROZ": true, "UPR": true, "KOR_ZAL": true, "KOR_ROZ": true}
)

// Check validates an invoice in Go, without the XSD: that the file is XML with a
// single Faktura root, encoding (UTF-8, no BOM, no processing instructions, no
// DOCTYPE, size), control characters in text and attribute values, the fixed
// header, NIP checksums of the seller and of a Polish buyer, identifiers, codes,
// dates, amount formats, GTU, procedure and OSS rate codes, and the arithmetic
// P_15 = ΣP_13 + ΣP_14 (exact) for VAT and KOR invoices — the last as a warning,
// since KSeF does not enforce it (see Problem.Warning). It returns nil when nothing
// is wrong.
func Check(b []byte) []Problem {
	var ps []Problem
	add := func(line int, path, format string, args ...any) {
		ps = append(ps, Problem{Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if len(b) > MaxSize {
		add(0, "", "document is %d bytes; KSeF accepts at most %d", len(b), MaxSize)
	}
	if bytes.HasPrefix(b, utf8BOM) {
		add(1, "", "starts with a UTF-8 byte-order mark, which KSeF rejects: save the file as UTF-8 without BOM")
	}
	if msg := notXML(b); msg != "" {
		add(0, "", "%s", msg)
		return ps
	}
	if !utf8.Valid(b) {
		add(0, "", "not valid UTF-8: KSeF accepts UTF-8 only")
		return ps
	}
	ix := index(bytes.TrimPrefix(b, utf8BOM))
	ps = append(ps, ix.problems...)
	if ix.fatal {
		return ps
	}
	// ix.clean is b with control characters that encoding/xml refuses masked; they
	// are reported above, and masking them lets every other check run too.
	d, err := ParseXML(ix.clean)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			add(pe.Line, "Faktura", "%s", pe.Msg)
		} else {
			add(0, "", "%v", err)
		}
		return ps
	}
	warn := func(line int, path, format string, args ...any) {
		ps = append(ps, Problem{Line: line, Path: path, Msg: fmt.Sprintf(format, args...), Warning: true})
	}
	ck := &checker{lines: ix.lines, add: add, warn: warn, controls: ix.controls}
	ck.document(d)
	return ps
}

// fakturaHint ends the messages about a file that is not an invoice at all.
const fakturaHint = "an FA(3)/FA(2) invoice document starts with <Faktura …>"

// notXML explains why b (after a BOM and white space) cannot be XML, or returns "".
func notXML(b []byte) string {
	t := bytes.TrimLeft(bytes.TrimPrefix(b, utf8BOM), " \t\r\n")
	switch {
	case len(t) == 0:
		return "the file is empty, not XML (" + fakturaHint + ")"
	case t[0] != '<':
		return "the file is not XML (" + fakturaHint + ")"
	}
	return ""
}

// indexed is what index learns from a token pass over the document.
type indexed struct {
	lines    map[string]int // line of every element path
	problems []Problem
	fatal    bool            // the document cannot be read further
	clean    []byte          // the input with masked control characters (see maskControls)
	controls map[string]bool // paths of elements and attributes (E/@a) with a control character
}

// controlSpot is a control character that encoding/xml refuses to read (a raw C0
// byte or a character reference to one), masked in indexed.clean.
type controlSpot struct {
	off int
	r   rune
}

var reCharRef = lazyre.New(`^&#(?:x([0-9A-Fa-f]{1,8})|([0-9]{1,10}));`)

// maskControls replaces every raw C0 control byte (other than tab, LF and CR) and
// every character reference to one outside comments, CDATA sections and
// processing instructions (where a reference is literal text) with '*' bytes of the
// same length, so that offsets and lines stay the same. XML 1.0 forbids these
// characters; encoding/xml would stop at the first with a syntax error that names
// neither the element nor any further problem.
func maskControls(b []byte) ([]byte, []controlSpot) {
	var out []byte
	var spots []controlSpot
	mask := func(off, n int, r rune) {
		if out == nil {
			out = bytes.Clone(b)
		}
		for i := off; i < off+n; i++ {
			out[i] = '*'
		}
		spots = append(spots, controlSpot{off: off, r: r})
	}
	skipTo := func(i int, end string) int {
		j := bytes.Index(b[i:], []byte(end))
		if j < 0 {
			return len(b)
		}
		return i + j + len(end)
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			mask(i, 1, rune(c))
			i++
		case c == '<' && (bytes.HasPrefix(b[i:], []byte("<!--")) || bytes.HasPrefix(b[i:], []byte("<![CDATA[")) || bytes.HasPrefix(b[i:], []byte("<?"))):
			end := "?>"
			switch {
			case b[i+1] == '!' && b[i+2] == '-':
				end = "-->"
			case b[i+1] == '!':
				end = "]]>"
			}
			j := skipTo(i+2, end)
			for k := i; k < j; k++ {
				if ck := b[k]; ck < 0x20 && ck != '\t' && ck != '\n' && ck != '\r' {
					mask(k, 1, rune(ck))
				}
			}
			i = j
		case c == '&' && i+1 < len(b) && b[i+1] == '#':
			m := reCharRef.FindSubmatch(b[i:])
			if m != nil {
				var v uint64
				if len(m[1]) > 0 {
					v, _ = strconv.ParseUint(string(m[1]), 16, 32)
				} else {
					v, _ = strconv.ParseUint(string(m[2]), 10, 32)
				}
				if v < 0x20 && v != '\t' && v != '\n' && v != '\r' {
					mask(i, len(m[0]), rune(v))
					i += len(m[0])
					continue
				}
			}
			i++
		default:
			i++
		}
	}
	if out == nil {
		return b, nil
	}
	return out, spots
}

var reAttr = lazyre.New(`([^\s=<>/"']+)\s*=\s*("[^"]*"|'[^']*')`)

// attrAt names the attribute whose value holds offset off within a start tag.
func attrAt(tag []byte, off int) string {
	for _, m := range reAttr.FindAllSubmatchIndex(tag, -1) {
		if off >= m[4] && off < m[5] {
			name := string(tag[m[2]:m[3]])
			if _, local, ok := strings.Cut(name, ":"); ok {
				name = local
			}
			return name
		}
	}
	return ""
}

// index records the line of every element path and reports what is wrong with the
// document as XML: not a single Faktura root, text outside it, processing
// instructions, a DOCTYPE, a non-UTF-8 encoding declaration, control characters in
// text and attribute values, and malformed XML.
func index(b []byte) indexed {
	clean, spots := maskControls(b)
	ix := indexed{lines: map[string]int{}, clean: clean, controls: map[string]bool{}}
	add := func(line int, path, format string, args ...any) {
		ix.problems = append(ix.problems, Problem{Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	control := func(line int, path string, r rune) {
		add(line, path, "%s", controlMsg(r))
		ix.controls[path] = true
	}
	// legalControl is DEL or a C1 character: XML 1.0 and the schema allow them, so
	// KSeF does too, but no invoice text needs one — they are a sign of text decoded
	// in the wrong encoding. A warning (see Problem.Warning), except in the invoice
	// number.
	legalControl := func(line int, path string, r rune) {
		if path == "Faktura/Fa/P_2" {
			// The invoice number is the job's key in the queue and is printed in every
			// table and log line: no control character there, whatever XML allows.
			control(line, path, r)
			return
		}
		ix.problems = append(ix.problems, Problem{Line: line, Path: path, Warning: true, Msg: fmt.Sprintf(
			"contains the control character U+%04X, which XML allows but no invoice text needs: probably text decoded in the wrong encoding (Windows-1250 read as UTF-8?); check how it prints", r)})
		ix.controls[path] = true
	}
	// lineAt counts lines up to off; offsets are asked for in increasing order.
	lineOff, lineNo := 0, 1
	lineAt := func(off int) int {
		if off > lineOff {
			lineNo += bytes.Count(clean[lineOff:off], []byte{'\n'})
			lineOff = off
		}
		return lineNo
	}
	dec := xml.NewDecoder(bytes.NewReader(clean))
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) { return r, nil }
	type frame struct {
		path   string
		counts map[string]int
	}
	stack := []frame{{counts: map[string]int{}}}
	rootSeen := false
	next := 0 // the first spot not yet reported
	for {
		start := int(dec.InputOffset())
		startLine, _ := dec.InputPos()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		end := int(dec.InputOffset())
		if err != nil {
			if next < len(spots) && spots[next].off <= end {
				// A masked control character broke the markup: report it, not the
				// error about the mask.
				sp := spots[next]
				add(lineAt(sp.off), stack[len(stack)-1].path, "%s", controlMsg(sp.r))
				ix.fatal = true
				return ix
			}
			line := 0
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				line = se.Line
			}
			add(line, "", "malformed XML: %s", strings.TrimPrefix(err.Error(), "XML syntax error on line "+strconv.Itoa(line)+": "))
			ix.fatal = true
			return ix
		}
		var mine []controlSpot // the masked characters inside this token
		for next < len(spots) && spots[next].off < end {
			mine = append(mine, spots[next])
			next++
		}
		line, _ := dec.InputPos()
		top := &stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 1 {
				if rootSeen {
					add(line, "", "a second root element <%s> follows the invoice: an XML document has one root element", t.Name.Local)
					ix.fatal = true
					return ix
				}
				rootSeen = true
				if t.Name.Local != "Faktura" {
					add(line, "", "the root element is <%s>, not <Faktura>: the file is not an FA(3)/FA(2) invoice", t.Name.Local)
					ix.fatal = true
					return ix
				}
			}
			top.counts[t.Name.Local]++
			name := t.Name.Local
			if n := top.counts[t.Name.Local]; n > 1 {
				name += "[" + strconv.Itoa(n) + "]"
			}
			p := name
			if top.path != "" {
				p = top.path + "/" + name
			}
			ix.lines[p] = line
			stack = append(stack, frame{path: p, counts: map[string]int{}})
			reported := map[string]bool{}
			for _, sp := range mine {
				a := attrAt(clean[start:end], sp.off-start)
				if !reported[a] {
					reported[a] = true
					ap := p
					if a != "" {
						ap += "/@" + a
					}
					control(lineAt(sp.off), ap, sp.r)
				}
			}
			for _, a := range t.Attr {
				if r, ok := firstControl(a.Value); ok && !reported[a.Name.Local] {
					reported[a.Name.Local] = true
					legalControl(line, p+"/@"+a.Name.Local, r)
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			switch {
			case len(mine) > 0:
				control(lineAt(mine[0].off), top.path, mine[0].r)
			default:
				for i, r := range string(t) {
					if isControl(r) {
						legalControl(startLine+strings.Count(string(t[:i]), "\n"), top.path, r)
						break
					}
				}
			}
			if len(stack) == 1 && len(bytes.TrimSpace(t)) > 0 {
				add(startLine, "", "text outside the root element <Faktura> is not allowed: remove it")
			}
		case xml.ProcInst:
			if len(mine) > 0 {
				control(lineAt(mine[0].off), top.path, mine[0].r)
			}
			if t.Target == "xml" {
				if enc := procInstEncoding(string(t.Inst)); enc != "" && !strings.EqualFold(enc, "utf-8") {
					add(line, "", "declares encoding %q; KSeF accepts UTF-8 only", enc)
				}
				continue
			}
			add(line, "", "processing instruction <?%s?> is not allowed by KSeF: remove it", t.Target)
		case xml.Comment:
			if len(mine) > 0 {
				control(lineAt(mine[0].off), top.path, mine[0].r)
			}
		case xml.Directive:
			if len(mine) > 0 {
				control(lineAt(mine[0].off), top.path, mine[0].r)
			}
			word, _, _ := strings.Cut(strings.TrimSpace(string(t)), " ")
			if word == "DOCTYPE" {
				add(startLine, "", "a DOCTYPE declaration is not allowed: KSeF does not accept one, and its entities or defaults could make the invoice read differently; remove <!DOCTYPE …>")
			} else {
				add(startLine, "", "markup declaration <!%s …> is not allowed in an invoice: remove it", quoteName(word))
			}
		}
	}
	if !rootSeen {
		add(0, "", "the file has no root element, so it is not an invoice (%s)", fakturaHint)
		ix.fatal = true
	}
	return ix
}

// quoteName shortens a markup word for a message.
func quoteName(s string) string {
	if len(s) > 20 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return strings.Trim(quote(s), `"`)
	}
	return s
}

func procInstEncoding(inst string) string {
	i := strings.Index(inst, "encoding=")
	if i < 0 {
		return ""
	}
	v := inst[i+len("encoding="):]
	if len(v) < 2 {
		return ""
	}
	q := v[0]
	v = v[1:]
	if j := strings.IndexByte(v, q); j >= 0 {
		return v[:j]
	}
	return ""
}

// checker holds the line index while walking the document.
type checker struct {
	lines    map[string]int
	add      func(line int, path, format string, args ...any)
	warn     func(line int, path, format string, args ...any)
	controls map[string]bool // see indexed.controls
}

// at reports a problem at path, using the line of the nearest indexed ancestor.
// An element whose text or attributes hold a control character was reported for
// that already, and nothing derived from its value is reported again.
func (c *checker) at(path, format string, args ...any) {
	c.report(c.add, path, format, args...)
}

// warnAt reports a warning (see Problem.Warning) at path, like at.
func (c *checker) warnAt(path, format string, args ...any) {
	c.report(c.warn, path, format, args...)
}

func (c *checker) report(add func(int, string, string, ...any), path, format string, args ...any) {
	if c.controls[path] {
		return
	}
	for k := range c.controls {
		if strings.HasPrefix(k, path+"/@") {
			return
		}
	}
	p := path
	for p != "" {
		if l, ok := c.lines[p]; ok {
			add(l, path, format, args...)
			return
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	add(0, path, format, args...)
}

func nth(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + "[" + strconv.Itoa(i+1) + "]"
}

func (c *checker) document(d *Document) {
	schema := d.Schema()
	si, _ := schema.info()
	h := d.Naglowek
	const hp = "Faktura/Naglowek"
	if h.KodFormularza.Value != "FA" {
		c.at(hp+"/KodFormularza", "must be FA, got %q", h.KodFormularza.Value)
	}
	if h.KodFormularza.KodSystemowy != si.kodSystemowy {
		c.at(hp+"/KodFormularza", "kodSystemowy must be %q for this namespace, got %q", si.kodSystemowy, h.KodFormularza.KodSystemowy)
	}
	if h.KodFormularza.WersjaSchemy != "1-0E" {
		c.at(hp+"/KodFormularza", "wersjaSchemy must be \"1-0E\", got %q", h.KodFormularza.WersjaSchemy)
	}
	if h.WariantFormularza != si.wariant {
		c.at(hp+"/WariantFormularza", "must be %s for %s, got %q", si.wariant, schema, h.WariantFormularza)
	}
	if t, err := parseDateTime(h.DataWytworzeniaFa); err != nil {
		c.at(hp+"/DataWytworzeniaFa", "%q is not a date-time (use 2026-11-20T09:15:00Z)", h.DataWytworzeniaFa)
	} else {
		minT, _ := time.Parse(time.RFC3339, si.minCreated)
		if t.Before(minT) || t.After(time.Date(2050, 1, 1, 23, 59, 59, 0, time.UTC)) {
			c.at(hp+"/DataWytworzeniaFa", "%s is outside the range %s accepts (%s to 2050-01-01)", h.DataWytworzeniaFa, schema, si.minCreated)
		}
	}

	p1 := d.Podmiot1
	if err := nip.Validate(p1.DaneIdentyfikacyjne.NIP); err != nil {
		c.at("Faktura/Podmiot1/DaneIdentyfikacyjne/NIP", "seller NIP: %v", err)
	}
	if strings.TrimSpace(p1.DaneIdentyfikacyjne.Nazwa) == "" {
		c.at("Faktura/Podmiot1/DaneIdentyfikacyjne/Nazwa", "seller name is required")
	}
	c.address("Faktura/Podmiot1/Adres", &p1.Adres, true)

	const bp = "Faktura/Podmiot2/DaneIdentyfikacyjne"
	b := d.Podmiot2.DaneIdentyfikacyjne
	ids := 0
	if b.NIP != "" {
		ids++
		if err := nip.Validate(b.NIP); err != nil {
			c.at(bp+"/NIP", "buyer NIP: %v", err)
		}
	}
	if b.KodUE != "" || b.NrVatUE != "" {
		ids++
		if !euCodes[b.KodUE] {
			c.at(bp+"/KodUE", "%q is not an EU VAT country code", b.KodUE)
		}
		if !reVatUE.MatchString(b.NrVatUE) {
			c.at(bp+"/NrVatUE", "%q is not an EU VAT number without its country prefix", b.NrVatUE)
		}
	}
	if b.NrID != "" {
		ids++
	}
	if b.BrakID != "" {
		ids++
		if b.BrakID != "1" {
			c.at(bp+"/BrakID", "must be 1")
		}
	}
	if ids != 1 {
		c.at(bp, "the buyer needs exactly one of NIP, KodUE+NrVatUE, NrID or BrakID (found %d)", ids)
	}
	if d.Podmiot2.Adres != nil {
		c.address("Faktura/Podmiot2/Adres", d.Podmiot2.Adres, false)
	}
	if schema == FA3 {
		for _, nv := range [][2]string{{"JST", d.Podmiot2.JST}, {"GV", d.Podmiot2.GV}} {
			if name, v := nv[0], nv[1]; v != "1" && v != "2" {
				c.at("Faktura/Podmiot2/"+name, "%s is required in FA(3): 1 (yes) or 2 (no), got %q", name, v)
			}
		}
	}
	c.fa(d, schema)
}

// parseDateTime reads an xsd:dateTime with or without a zone (no zone = UTC).
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

func (c *checker) address(path string, a *Adres, required bool) {
	if !countryCodes[a.KodKraju] {
		c.at(path+"/KodKraju", "%q is not a country code KSeF accepts", a.KodKraju)
	}
	if required && strings.TrimSpace(a.AdresL1) == "" {
		c.at(path+"/AdresL1", "address line 1 is required")
	}
}

func (c *checker) date(path, s string) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		c.at(path, "%q is not a date YYYY-MM-DD", s)
		return
	}
	if t.Year() < 2006 || t.After(time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)) {
		c.at(path, "%s is outside 2006-01-01..2050-01-01", s)
	}
}

func (c *checker) fa(d *Document, schema Schema) {
	f := &d.Fa
	const fp = "Faktura/Fa"
	codes := currencyCodesFA3
	if schema == FA2 {
		codes = currencyCodesFA2
	}
	if !codes[f.KodWaluty] {
		c.at(fp+"/KodWaluty", "%q is not a currency code %s accepts", f.KodWaluty, schema)
	}
	c.date(fp+"/P_1", f.P1)
	if strings.TrimSpace(f.P2) == "" {
		c.at(fp+"/P_2", "the invoice number is required")
	}
	if f.P6 != "" {
		c.date(fp+"/P_6", f.P6)
	}
	var sum decimal.Decimal
	for _, bk := range bucketsOf(f) {
		for _, fv := range [][2]string{{bk.name, bk.net}, {strings.Replace(bk.name, "P_13", "P_14", 1), bk.vat}, {strings.Replace(bk.name, "P_13", "P_14", 1) + "W", bk.vatW}} {
			if v := strings.TrimSpace(fv[1]); v != "" && !reKwotowy.MatchString(v) {
				c.at(fp+"/"+fv[0], "%q is not an amount (digits, a dot, at most 2 decimals)", fv[1])
			}
		}
		if bk.name <= "P_13_4" && len(bk.name) == 6 && (bk.net == "") != (bk.vat == "") {
			c.at(fp+"/"+bk.name, "%s and its tax amount must appear together", bk.name)
		}
		sum = sum.Add(amount(bk.net)).Add(amount(bk.vat))
	}
	if !reKwotowy.MatchString(strings.TrimSpace(f.P15)) {
		c.at(fp+"/P_15", "%q is not an amount (digits, a dot, at most 2 decimals)", f.P15)
	} else if (f.RodzajFaktury == "VAT" || f.RodzajFaktury == "KOR") && !sum.Equal(amount(f.P15)) {
		c.warnAt(fp+"/P_15", "P_15 is %s but the P_13_x and P_14_x amounts add up to %s (KSeF does not check this; ksefpl does for invoices it builds)", f.P15, sum.StringFixed(2))
	}
	if !invoiceKinds[f.RodzajFaktury] {
		c.at(fp+"/RodzajFaktury", "%q is not an invoice type (VAT, KOR, ZAL, ROZ, UPR, KOR_ZAL, KOR_ROZ)", f.RodzajFaktury)
	}
	if strings.HasPrefix(f.RodzajFaktury, "KOR") && len(f.DaneFaKorygowanej) == 0 {
		c.at(fp+"/RodzajFaktury", "a correcting invoice (%s) needs DaneFaKorygowanej naming the corrected invoice", f.RodzajFaktury)
	}
	for i, k := range f.DaneFaKorygowanej {
		p := fp + "/" + nth("DaneFaKorygowanej", i)
		c.date(p+"/DataWystFaKorygowanej", k.DataWystFaKorygowanej)
		switch {
		case k.NrKSeF == "1" && k.NrKSeFN == "":
			if !reKSeF.MatchString(k.NrKSeFFaKorygowanej) {
				c.at(p+"/NrKSeFFaKorygowanej", "%q is not a KSeF number", k.NrKSeFFaKorygowanej)
			}
		case k.NrKSeFN == "1" && k.NrKSeF == "" && k.NrKSeFFaKorygowanej == "":
		default:
			c.at(p, "give either NrKSeF=1 with NrKSeFFaKorygowanej, or NrKSeFN=1")
		}
	}
	rates := rateCodesFA3
	if schema == FA2 {
		rates = rateCodesFA2
	}
	for i, w := range f.FaWiersz {
		p := fp + "/" + nth("FaWiersz", i)
		if w.P12 != "" && !rates[w.P12] {
			c.at(p+"/P_12", "%q is not a %s tax rate code", w.P12, schema)
		}
		if w.GTU != "" && !gtuCodes[w.GTU] {
			c.at(p+"/GTU", "%q is not a GTU code (GTU_01 … GTU_13)", w.GTU)
		}
		if w.Procedura != "" && !procedureCodes[w.Procedura] {
			c.at(p+"/Procedura", "%q is not a procedure code (%s)", w.Procedura, sortedKeys(procedureCodes))
		}
		if v := strings.TrimSpace(w.P12XII); v != "" && !reProcent.MatchString(v) {
			c.at(p+"/P_12_XII", "%q is not a VAT rate (0 to 100, at most 6 decimals)", w.P12XII)
		}
		for _, fv := range []struct {
			name, v string
			re      *lazyre.Regexp
		}{{"P_8B", w.P8B, reIlosci}, {"P_9A", w.P9A, reKwotowy2}, {"P_9B", w.P9B, reKwotowy2}, {"P_10", w.P10, reKwotowy2},
			{"P_11", w.P11, reKwotowy}, {"P_11A", w.P11A, reKwotowy}, {"KursWaluty", w.KursWaluty, reIlosci}} {
			if v := strings.TrimSpace(fv.v); v != "" && !fv.re.MatchString(v) {
				c.at(p+"/"+fv.name, "%q is not a number in the format the schema requires", fv.v)
			}
		}
	}
}
