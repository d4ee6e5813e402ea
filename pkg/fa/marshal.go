package fa

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Marshal renders d as UTF-8 XML (no BOM) with an XML declaration, two-space
// indentation, the schema's namespace as the default namespace and no
// processing instructions. It fails when the result exceeds MaxSize.
func Marshal(d *Document) ([]byte, error) {
	if d == nil {
		return nil, errors.New("fa: Marshal of a nil document")
	}
	if _, ok := schemaForNamespace(d.XMLName.Space); !ok {
		return nil, fmt.Errorf("fa: document namespace %q is neither FA(3) (%s) nor FA(2) (%s)", d.XMLName.Space, NamespaceFA3, NamespaceFA2)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	start := xml.StartElement{Name: xml.Name{Space: d.XMLName.Space, Local: "Faktura"}}
	if err := enc.EncodeElement(d, start); err != nil {
		return nil, fmt.Errorf("fa: marshal invoice: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("fa: marshal invoice: %w", err)
	}
	buf.WriteByte('\n')
	if buf.Len() > MaxSize {
		return nil, &TooLargeError{Size: buf.Len()}
	}
	return buf.Bytes(), nil
}

// ParseXML reads an FA(3) or FA(2) invoice into the model. A leading UTF-8 BOM is
// tolerated here (Check reports it); an unknown namespace or malformed XML is a
// *ParseError.
func ParseXML(b []byte) (*Document, error) {
	b = bytes.TrimPrefix(b, utf8BOM)
	if msg := notXML(b); msg != "" {
		return nil, &ParseError{Msg: msg}
	}
	var d Document
	if err := xml.Unmarshal(b, &d); err != nil {
		pe := &ParseError{Msg: err.Error()}
		var se *xml.SyntaxError
		switch {
		case errors.As(err, &se):
			pe.Line = se.Line
			pe.Msg = se.Msg
		case errors.Is(err, io.EOF):
			pe.Msg = "the file has no root element, so it is not an invoice (" + fakturaHint + ")"
		default:
			if root, ok := strings.CutPrefix(err.Error(), "expected element type <Faktura> but have <"); ok {
				pe.Msg = fmt.Sprintf("the root element is <%s, not <Faktura>: the file is not an FA(3)/FA(2) invoice", root)
			}
		}
		return nil, pe
	}
	if _, ok := schemaForNamespace(d.XMLName.Space); !ok {
		return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("root element Faktura has namespace %q; expected FA(3) %s or FA(2) %s", d.XMLName.Space, NamespaceFA3, NamespaceFA2)}
	}
	return &d, nil
}

// utf8BOM is the byte-order mark KSeF rejects.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}
