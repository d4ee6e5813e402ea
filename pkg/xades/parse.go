package xades

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// Structural limits for untrusted input. An AuthTokenRequest with its
// signature has a few dozen elements nested less than ten deep.
const (
	maxDepth      = 64
	maxElements   = 10000
	maxAttributes = 64  // per element
	maxNamespaces = 256 // namespace declarations in the whole document
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parsedDoc is a parsed, checked document.
type parsedDoc struct {
	doc  *etree.Document
	root *etree.Element
	// Where the root element's content ends in the original input: the
	// offset of its end tag "</root>", or — for an empty-element tag
	// "<root/>" — the offset of its "/>".
	rootEnd     int
	selfClosing bool
}

// parseDocument reads untrusted XML. It refuses (KindMalformed) input that
// is too large, not well-formed, not UTF-8, holds a DOCTYPE (or any other
// "<!" declaration), more than one root element, duplicate attributes,
// undeclared namespace prefixes or reserved-namespace abuse. Attribute
// values are normalised as XML 1.0 §3.3.3 requires (literal TAB, CR, LF
// become spaces), which encoding/xml does not do on its own.
func parseDocument(data []byte) (*parsedDoc, *VerifyError) {
	if len(data) > MaxDocumentSize {
		return nil, verr(KindMalformed, nil, "document is %d bytes, more than the %d accepted", len(data), MaxDocumentSize)
	}
	base := 0
	body := data
	if bytes.HasPrefix(body, utf8BOM) {
		base = len(utf8BOM)
		body = body[base:]
	}
	p := &parsedDoc{}
	if err := prescan(body, p); err != nil {
		return nil, err
	}
	p.rootEnd += base

	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{CharsetReader: utf8Only, MaxDepth: maxDepth + 1}
	if err := doc.ReadFromBytes(normaliseAttributeWhitespace(body)); err != nil {
		return nil, verr(KindMalformed, err, "not well-formed XML")
	}
	p.doc = doc
	p.root = doc.Root()
	if p.root == nil {
		return nil, verr(KindMalformed, nil, "no root element")
	}
	if err := checkNamespaces(p.root); err != nil {
		return nil, verr(KindMalformed, err, "namespace error")
	}
	return p, nil
}

// prescan checks the input with encoding/xml's strict tokenizer and finds
// where the root element ends.
func prescan(body []byte, p *parsedDoc) *VerifyError {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	dec.CharsetReader = utf8Only
	depth, elements, roots, namespaces := 0, 0, 0, 0
	rootClosed := false
	for {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return verr(KindMalformed, err, "not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			elements++
			if depth > maxDepth {
				return verr(KindMalformed, nil, "elements nested more than %d deep", maxDepth)
			}
			if elements > maxElements {
				return verr(KindMalformed, nil, "more than %d elements", maxElements)
			}
			if depth == 1 {
				roots++
				if roots > 1 {
					return verr(KindMalformed, nil, "more than one root element")
				}
			}
			if len(t.Attr) > maxAttributes {
				return verr(KindMalformed, nil, "more than %d attributes on <%s>", maxAttributes, t.Name.Local)
			}
			seen := make(map[xml.Name]bool, len(t.Attr))
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					if namespaces++; namespaces > maxNamespaces {
						return verr(KindMalformed, nil, "more than %d namespace declarations", maxNamespaces)
					}
				}
				if seen[a.Name] {
					return verr(KindMalformed, nil, "duplicate attribute %q on <%s>", a.Name.Local, t.Name.Local)
				}
				seen[a.Name] = true
			}
		case xml.EndElement:
			if depth == 1 {
				after := int(dec.InputOffset())
				p.rootEnd = before
				if after == before { // synthesised end of "<root/>"
					if before < 2 || string(body[before-2:before]) != "/>" {
						return verr(KindMalformed, nil, "cannot locate the end of the root element")
					}
					p.rootEnd = before - 2
					p.selfClosing = true
				}
				rootClosed = true
			}
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimLeft(t, " \t\r\n")) > 0 {
				return verr(KindMalformed, nil, "text outside the root element")
			}
		case xml.Directive:
			return verr(KindMalformed, nil, "DOCTYPE and other <! declarations are not allowed")
		case xml.ProcInst:
			if strings.EqualFold(t.Target, "xml") && before != 0 {
				return verr(KindMalformed, nil, "XML declaration not at the start of the document")
			}
		}
	}
	if !rootClosed || depth != 0 {
		return verr(KindMalformed, nil, "no complete root element")
	}
	return nil
}

// utf8Only is the CharsetReader for documents that declare an encoding
// other than UTF-8: only UTF-8 (and its subset US-ASCII) is accepted.
func utf8Only(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (use UTF-8)", label)
}

// normaliseAttributeWhitespace replaces literal TAB, LF and CR (CR LF
// counting as one) inside attribute values by a space, as XML attribute
// value normalisation requires; character references such as &#10; are
// left alone and so keep their meaning. The input must already have passed
// prescan (well-formed, no DOCTYPE).
func normaliseAttributeWhitespace(b []byte) []byte {
	if !bytes.ContainsAny(b, "\t\r\n") {
		return b
	}
	out := make([]byte, 0, len(b))
	skipTo := func(i int, end string) int {
		j := bytes.Index(b[i:], []byte(end))
		if j < 0 {
			return len(b)
		}
		return i + j + len(end)
	}
	for i := 0; i < len(b); {
		if b[i] != '<' {
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				j = len(b) - i
			}
			out = append(out, b[i:i+j]...)
			i += j
			continue
		}
		rest := b[i:]
		var end int
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end = skipTo(i+4, "-->")
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end = skipTo(i+9, "]]>")
		case bytes.HasPrefix(rest, []byte("<?")):
			end = skipTo(i+2, "?>")
		case bytes.HasPrefix(rest, []byte("<!")):
			end = skipTo(i+2, ">")
		default: // start or end tag
			var quote byte
			j := i
			for ; j < len(b); j++ {
				c := b[j]
				if quote != 0 {
					switch c {
					case quote:
						quote = 0
					case '\r':
						if j+1 < len(b) && b[j+1] == '\n' {
							j++
						}
						c = ' '
					case '\n', '\t':
						c = ' '
					}
					out = append(out, c)
					continue
				}
				out = append(out, c)
				if c == '"' || c == '\'' {
					quote = c
				} else if c == '>' {
					break
				}
			}
			i = j + 1
			continue
		}
		out = append(out, b[i:end]...)
		i = end
	}
	return out
}

// checkNamespaces verifies that every prefix used in the tree is declared
// and that the reserved prefixes are not abused.
func checkNamespaces(root *etree.Element) error {
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		for _, a := range el.Attr {
			if p, ok := nsDecl(a); ok {
				switch {
				case p == "xmlns":
					return errors.New("the xmlns prefix must not be declared")
				case p == "xml" && a.Value != nsXML, p != "xml" && a.Value == nsXML:
					return errors.New("the xml prefix and namespace must not be rebound")
				case a.Value == nsXMLNS:
					return errors.New("the xmlns namespace must not be bound")
				case p != "" && a.Value == "":
					return fmt.Errorf("prefix %q is declared with an empty namespace name", p)
				}
				continue
			}
			if a.Space != "" {
				if _, ok := lookupNamespace(el, a.Space); !ok {
					return fmt.Errorf("undeclared prefix %q on attribute %s", a.Space, a.FullKey())
				}
			}
		}
		if _, ok := lookupNamespace(el, el.Space); !ok {
			return fmt.Errorf("undeclared prefix %q on element <%s>", el.Space, el.FullTag())
		}
		for _, c := range el.ChildElements() {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root)
}

// nsDecl reports whether a is a namespace declaration and for which prefix
// ("" for the default namespace).
func nsDecl(a etree.Attr) (prefix string, ok bool) {
	if a.Space == "" && a.Key == "xmlns" {
		return "", true
	}
	if a.Space == "xmlns" {
		return a.Key, true
	}
	return "", false
}

// lookupNamespace resolves prefix at el by walking up its ancestors. The
// default namespace ("" prefix) resolves to "" when undeclared.
func lookupNamespace(el *etree.Element, prefix string) (string, bool) {
	switch prefix {
	case "xml":
		return nsXML, true
	case "xmlns":
		return nsXMLNS, true
	}
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if p, ok := nsDecl(a); ok && p == prefix {
				return a.Value, true
			}
		}
	}
	return "", prefix == ""
}

// namespaceOf returns the namespace name of el.
func namespaceOf(el *etree.Element) string {
	ns, _ := lookupNamespace(el, el.Space)
	return ns
}

// is reports whether el is the element {ns}local.
func is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && namespaceOf(el) == ns
}

// childElements returns el's child elements named {ns}local.
func childElements(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// descendants returns every element named {ns}local in el's subtree,
// el included, in document order.
func descendants(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if is(e, ns, local) {
			out = append(out, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(el)
	return out
}

// textOf returns the concatenated character data directly inside el.
func textOf(el *etree.Element) string {
	var sb strings.Builder
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok {
			sb.WriteString(cd.Data)
		}
	}
	return sb.String()
}
