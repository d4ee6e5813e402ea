package fa

import (
	"encoding/xml"
	"strings"
)

// Node is a generic XML element kept verbatim for the parts of the schema the
// model does not type (Podmiot3, Zalacznik, Rozliczenie, …), so parsed documents
// marshal back without losing content. Namespace prefixes are dropped on output:
// every element is written in the document's default namespace.
type Node struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []Node     `xml:",any"`
}

// MarshalXML writes the element in the default namespace; whitespace-only text of
// container elements is dropped.
func (n Node) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: n.XMLName.Local}}
	for _, a := range n.Attrs {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		start.Attr = append(start.Attr, a)
	}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	text := n.Text
	if len(n.Children) > 0 && strings.TrimSpace(text) == "" {
		text = ""
	}
	if text != "" {
		if err := e.EncodeToken(xml.CharData(text)); err != nil {
			return err
		}
	}
	for _, c := range n.Children {
		if err := e.Encode(c); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// leaf returns a Node holding a single text element.
func leaf(name, text string) Node {
	return Node{XMLName: xml.Name{Local: name}, Text: text}
}
