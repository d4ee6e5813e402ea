package fa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The shop JSON is read in two steps. First the bytes become a tree of jsonValue
// (syntax only); then the tree is matched against Input's fields by their exact
// json names (decodeInput). Doing the matching here instead of in encoding/json
// lets every unknown field, duplicate key and wrong type be reported at once, in
// the document's terms, and no key is matched case-insensitively: with
// encoding/json "INCREMENT_ID" or a second "increment_id" would silently replace
// the invoice number.

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// describe names a JSON kind for messages ("not an array").
func (k jsonKind) describe() string {
	switch k {
	case jsonNull:
		return "null"
	case jsonBool:
		return "true/false"
	case jsonNumber:
		return "a number"
	case jsonString:
		return "a string"
	case jsonArray:
		return "an array"
	}
	return "an object"
}

// jsonValue is one parsed JSON value; text is a string's value or a number's literal.
type jsonValue struct {
	kind    jsonKind
	text    string
	boolean bool
	members []jsonMember // objects, in document order, duplicates kept
	elems   []*jsonValue // arrays
}

type jsonMember struct {
	key string
	val *jsonValue
}

// parseJSONDocument reads exactly one JSON value from data. A syntax problem is
// returned as an *InputError naming, where it can, the field being read.
func parseJSONDocument(data []byte) (*jsonValue, *InputError) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &InputError{Msg: "empty input: expected a JSON invoice or credit memo object"}
	}
	clean, moved := escapeRawControls(data)
	p := &jsonParser{dec: json.NewDecoder(bytes.NewReader(clean)), moved: moved}
	p.dec.UseNumber()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if _, terr := p.dec.Token(); terr != io.EOF {
		return nil, &InputError{Msg: "unexpected data after the JSON object: send one invoice per document"}
	}
	return v, nil
}

// escapeRawControls rewrites raw control bytes inside JSON strings (which JSON
// forbids) as \u00XX escapes, so that the string still decodes and the control
// character is reported against its field with every other problem, instead of
// stopping at the first as a syntax error. Raw tab, CR and LF are left alone
// (inside a string they stay a syntax error, as JSON requires). moved lists the
// offsets in the result where an escape was inserted, to map error offsets back.
func escapeRawControls(data []byte) ([]byte, []int) {
	var out []byte
	var moved []int
	inString, escaped := false, false
	last := 0
	for i, c := range data {
		switch {
		case !inString:
			if c == '"' {
				inString = true
			}
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inString = false
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			if out == nil {
				out = make([]byte, 0, len(data)+16)
			}
			out = append(out, data[last:i]...)
			moved = append(moved, len(out))
			out = append(out, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			last = i + 1
		}
	}
	if out == nil {
		return data, nil
	}
	return append(out, data[last:]...), moved
}

type jsonParser struct {
	dec   *json.Decoder
	moved []int      // see escapeRawControls
	path  []pathPart // where the value being read is, for messages
}

// pathPart is one step of a path: an object key or an array index.
type pathPart struct {
	key     string
	index   int
	isIndex bool
}

// maxDepth bounds the nesting of a document: an invoice is four levels deep, and
// a limit keeps a hostile document from costing time and stack.
const maxDepth = 64

// where renders the current path, e.g. "items[2].price".
func (p *jsonParser) where() string {
	path := ""
	for _, s := range p.path {
		if s.isIndex {
			path += "[" + strconv.Itoa(s.index) + "]"
		} else {
			path = joinKey(path, s.key)
		}
	}
	return path
}

// value reads one value.
func (p *jsonParser) value() (*jsonValue, *InputError) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if len(p.path) >= maxDepth {
			return nil, &InputError{Msg: fmt.Sprintf("the document is nested more than %d levels deep: it is not an invoice or credit memo", maxDepth)}
		}
		if t == '{' {
			v := &jsonValue{kind: jsonObject}
			for p.dec.More() {
				kt, err := p.dec.Token()
				if err != nil {
					return nil, p.syntax(err)
				}
				key, _ := kt.(string)
				p.path = append(p.path, pathPart{key: key})
				child, ierr := p.value()
				p.path = p.path[:len(p.path)-1]
				if ierr != nil {
					return nil, ierr
				}
				v.members = append(v.members, jsonMember{key: key, val: child})
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, p.syntax(err)
			}
			return v, nil
		}
		v := &jsonValue{kind: jsonArray}
		for p.dec.More() {
			p.path = append(p.path, pathPart{index: len(v.elems), isIndex: true})
			child, ierr := p.value()
			p.path = p.path[:len(p.path)-1]
			if ierr != nil {
				return nil, ierr
			}
			v.elems = append(v.elems, child)
		}
		if _, err := p.dec.Token(); err != nil {
			return nil, p.syntax(err)
		}
		return v, nil
	case string:
		return &jsonValue{kind: jsonString, text: t}, nil
	case json.Number:
		return &jsonValue{kind: jsonNumber, text: string(t)}, nil
	case bool:
		return &jsonValue{kind: jsonBool, boolean: t}, nil
	}
	return &jsonValue{kind: jsonNull}, nil
}

// syntax turns a decoder error into an InputError with the offset in the original input.
func (p *jsonParser) syntax(err error) *InputError {
	path := p.where()
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Each escape inserted before the error made the input 5 bytes longer.
		off := se.Offset - 5*int64(sort.SearchInts(p.moved, int(se.Offset)))
		msg := se.Error()
		for _, c := range []string{`'\t'`, `'\n'`, `'\r'`} {
			if strings.Contains(msg, c+" in string literal") {
				msg += `: write a tab or line break inside a string as \t, \r or \n`
				break
			}
		}
		return &InputError{Field: path, Msg: fmt.Sprintf("malformed JSON at byte %d: %s", off, msg)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &InputError{Msg: "malformed JSON: unexpected end of input"}
	}
	return &InputError{Field: path, Msg: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// joinKey appends an object key to a path, quoting a key that is not a plain
// identifier so that a hostile key cannot inject text into messages.
func joinKey(path, key string) string {
	if !plainKey(key) {
		key = quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func plainKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// jsonField is one json-tagged field of an input struct.
type jsonField struct {
	name  string
	index int
}

var jsonFieldsCache sync.Map // reflect.Type -> []jsonField

// jsonFieldsOf lists the json names of a struct's exported fields.
func jsonFieldsOf(t reflect.Type) []jsonField {
	if v, ok := jsonFieldsCache.Load(t); ok {
		return v.([]jsonField)
	}
	var fs []jsonField
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fs = append(fs, jsonField{name: name, index: i})
	}
	jsonFieldsCache.Store(t, fs)
	return fs
}

var (
	numType    = reflect.TypeFor[Num]()
	linesType  = reflect.TypeFor[Lines]()
	switchType = reflect.TypeFor[Switch]()
)

// inputDecoder fills an Input from a jsonValue tree, collecting every structural
// problem: wrong types, unknown fields and duplicate keys. bad holds the paths
// with a structural problem, so later checks do not report them again.
type inputDecoder struct {
	errs InputErrors
	bad  map[string]bool
}

func (d *inputDecoder) add(path, format string, args ...any) {
	d.errs = append(d.errs, &InputError{Field: path, Msg: fmt.Sprintf(format, args...)})
	if d.bad == nil {
		d.bad = map[string]bool{}
	}
	d.bad[path] = true
}

// expected says what a field of type t must be, in the document's terms.
func expected(t reflect.Type) string {
	switch {
	case t == numType:
		return `a decimal amount (a string such as "12.50" or a number)`
	case t == linesType:
		return "a string or an array of strings"
	case t == switchType:
		return `true, false or "auto"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array"
	}
	return "an object"
}

// decode stores v into dst (of a type used in Input), or reports why it does not fit.
// null leaves dst at its zero value, as encoding/json does.
func (d *inputDecoder) decode(v *jsonValue, dst reflect.Value, path string) {
	t := dst.Type()
	if v.kind == jsonNull {
		return
	}
	mismatch := func() { d.add(path, "must be %s, not %s", expected(t), v.kind.describe()) }
	switch {
	case t == switchType:
		switch v.kind {
		case jsonBool:
			dst.SetString(strconv.FormatBool(v.boolean))
		case jsonString:
			dst.SetString(v.text)
		default:
			mismatch()
		}
		return
	case t == numType:
		switch v.kind {
		case jsonString:
			s := v.text
			if _, ok := firstControl(s); !ok {
				s = strings.TrimSpace(s) // not a control (U+0085 is white space to TrimSpace), so that it is reported
			}
			dst.SetString(s)
		case jsonNumber:
			dst.SetString(v.text)
		default:
			mismatch()
		}
		return
	case t == linesType:
		switch v.kind {
		case jsonString:
			dst.Set(reflect.ValueOf(Lines{v.text}))
		case jsonArray:
			l := make(Lines, len(v.elems))
			for i, e := range v.elems {
				switch e.kind {
				case jsonString:
					l[i] = e.text
				case jsonNull:
				default:
					d.add(path+"["+strconv.Itoa(i)+"]", "must be a string, not %s", e.kind.describe())
				}
			}
			dst.Set(reflect.ValueOf(l))
		default:
			mismatch()
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		if v.kind != jsonString {
			mismatch()
			return
		}
		dst.SetString(v.text)
	case reflect.Bool:
		if v.kind != jsonBool {
			mismatch()
			return
		}
		dst.SetBool(v.boolean)
	case reflect.Pointer:
		if v.kind != jsonObject {
			d.add(path, "must be %s, not %s", expected(t.Elem()), v.kind.describe())
			return
		}
		p := reflect.New(t.Elem())
		d.decode(v, p.Elem(), path)
		dst.Set(p)
	case reflect.Slice:
		if v.kind != jsonArray {
			mismatch()
			return
		}
		s := reflect.MakeSlice(t, len(v.elems), len(v.elems))
		for i, e := range v.elems {
			d.decode(e, s.Index(i), path+"["+strconv.Itoa(i)+"]")
		}
		dst.Set(s)
	case reflect.Struct:
		if v.kind != jsonObject {
			mismatch()
			return
		}
		fields := jsonFieldsOf(t)
		seen := make(map[string]int, len(v.members))
		for _, m := range v.members {
			p := joinKey(path, m.key)
			if n := seen[m.key]; n > 0 {
				// An unknown field is reported once as unknown; a known one once as duplicated.
				if n == 1 && known(fields, m.key) {
					d.add(p, "duplicate key: give each field once")
				}
				seen[m.key]++
				continue
			}
			seen[m.key] = 1
			f, ok := field(fields, m.key)
			if !ok {
				msg := "unknown field (see docs/invoice-json.md for the accepted fields)"
				for _, kf := range fields {
					if strings.EqualFold(kf.name, m.key) {
						msg = fmt.Sprintf("unknown field: names are case-sensitive, did you mean %q? (see docs/invoice-json.md)", kf.name)
						break
					}
				}
				d.add(p, "%s", msg)
				continue
			}
			d.decode(m.val, dst.Field(f.index), p)
		}
	default:
		d.add(path, "cannot be read into %s", expected(t))
	}
}

func field(fs []jsonField, name string) (jsonField, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return jsonField{}, false
}

func known(fs []jsonField, name string) bool {
	_, ok := field(fs, name)
	return ok
}

// isControl reports a control character that must not appear in invoice text:
// C0 other than tab, LF and CR, DEL, and C1 (U+0080–U+009F).
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r <= 0x9f)
}

// firstControl returns the first control character in s.
func firstControl(s string) (rune, bool) {
	for _, r := range s {
		if isControl(r) {
			return r, true
		}
	}
	return 0, false
}

// controlMsg is the problem text for a control character.
func controlMsg(r rune) string {
	return fmt.Sprintf("contains the control character U+%04X: remove it (only tab, CR and LF are allowed)", r)
}

// quote renders a user value for a message: quoted and escaped, cut to 40 characters.
func quote(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	r := []rune(s)
	return strconv.Quote(string(r[:max])+"…") + fmt.Sprintf(" (%d characters)", len(r))
}
