package xades

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// canonicalWriteSettings are the etree settings goxmldsig serialises
// canonical XML with.
var canonicalWriteSettings = etree.WriteSettings{
	CanonicalAttrVal: true,
	CanonicalEndTags: true,
	CanonicalText:    true,
}

// canonicalizer returns goxmldsig's canonicaliser for alg.
func canonicalizer(alg, prefixList string) (dsig.Canonicalizer, error) {
	switch alg {
	case algExcC14N:
		return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList), nil
	case algExcC14NComments:
		return dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(prefixList), nil
	case algC14N10:
		return dsig.MakeC14N10RecCanonicalizer(), nil
	case algC14N10Comments:
		return dsig.MakeC14N10WithCommentsCanonicalizer(), nil
	case algC14N11:
		return dsig.MakeC14N11Canonicalizer(), nil
	case algC14N11Comments:
		return dsig.MakeC14N11WithCommentsCanonicalizer(), nil
	}
	return nil, fmt.Errorf("unsupported canonicalisation %q", alg)
}

// canonicalize returns the canonical form (per alg) of the subtree rooted at
// el, which must be a detached element as returned by detach. el is not
// modified.
func canonicalize(el *etree.Element, alg, prefixList string) ([]byte, error) {
	c, err := canonicalizer(alg, prefixList)
	if err != nil {
		return nil, err
	}
	out, err := c.Canonicalize(el.Copy())
	if err != nil {
		return nil, err
	}
	if needsAttributeReorder(el) {
		return reorderAttributes(out)
	}
	return out, nil
}

// detach returns a deep copy of el, attached to no tree, that carries as
// its own attributes every namespace declaration in scope at el — so that a
// canonicaliser that sees only the copy resolves prefixes as in the
// document — and, for the inclusive canonicalisations, the xml:* attributes
// el inherits from its ancestors (C14N 1.0: all of them; C14N 1.1: xml:lang
// and xml:space; the xml:base fix-up of C14N 1.1 is not implemented).
func detach(el *etree.Element, alg string) *etree.Element {
	cp := el.Copy()
	seenNS := map[string]bool{}
	seenXML := map[string]bool{}
	for _, a := range el.Attr {
		if p, ok := nsDecl(a); ok {
			seenNS[p] = true
		} else if a.Space == "xml" {
			seenXML[a.Key] = true
		}
	}
	for anc := el.Parent(); anc != nil; anc = anc.Parent() {
		for _, a := range anc.Attr {
			if p, ok := nsDecl(a); ok {
				if seenNS[p] {
					continue
				}
				seenNS[p] = true
				switch {
				case p == "" && a.Value == "": // xmlns="": no default namespace in scope
				case p == "":
					cp.CreateAttr("xmlns", a.Value)
				default:
					cp.CreateAttr("xmlns:"+p, a.Value)
				}
				continue
			}
			if a.Space == "xml" && !seenXML[a.Key] && inheritsXMLAttr(alg, a.Key) {
				seenXML[a.Key] = true
				cp.CreateAttr("xml:"+a.Key, a.Value)
			}
		}
	}
	return cp
}

func inheritsXMLAttr(alg, key string) bool {
	switch alg {
	case algC14N10, algC14N10Comments:
		return true
	case algC14N11, algC14N11Comments:
		return key == "lang" || key == "space"
	}
	return false // exclusive canonicalisation inherits nothing
}

// removeComments deletes every comment in el's subtree.
func removeComments(el *etree.Element) {
	for i := 0; i < len(el.Child); {
		if _, ok := el.Child[i].(*etree.Comment); ok {
			el.RemoveChildAt(i)
		} else {
			i++
		}
	}
	for _, c := range el.ChildElements() {
		removeComments(c)
	}
}

// needsAttributeReorder reports whether some element under el carries
// attributes with two different prefixes, the one case in which
// goxmldsig's attribute order (by prefix and local name) can differ from
// the C14N order (by namespace URI, then local name).
func needsAttributeReorder(el *etree.Element) bool {
	prefix := ""
	for _, a := range el.Attr {
		if _, ok := nsDecl(a); ok || a.Space == "" {
			continue
		}
		if prefix != "" && prefix != a.Space {
			return true
		}
		prefix = a.Space
	}
	for _, c := range el.ChildElements() {
		if needsAttributeReorder(c) {
			return true
		}
	}
	return false
}

// reorderAttributes re-sorts the attributes of canonical XML into C14N
// order: namespace declarations first (the default one first, then by
// prefix), then attributes by namespace URI and local name.
func reorderAttributes(canonical []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(canonical); err != nil {
		return nil, err
	}
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		slices.SortStableFunc(el.Attr, func(a, b etree.Attr) int { return compareAttrs(el, a, b) })
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(doc.Root())
	doc.WriteSettings = canonicalWriteSettings
	return doc.WriteToBytes()
}

func compareAttrs(el *etree.Element, a, b etree.Attr) int {
	pa, aDecl := nsDecl(a)
	pb, bDecl := nsDecl(b)
	switch {
	case aDecl && bDecl:
		return strings.Compare(pa, pb) // "" (default) sorts first
	case aDecl:
		return -1
	case bDecl:
		return 1
	}
	return cmp.Or(strings.Compare(attrNamespace(el, a), attrNamespace(el, b)), strings.Compare(a.Key, b.Key))
}

func attrNamespace(el *etree.Element, a etree.Attr) string {
	if a.Space == "" {
		return "" // unprefixed attributes are in no namespace
	}
	ns, _ := lookupNamespace(el, a.Space)
	return ns
}

// processingInstruction returns the canonical form of a processing instruction.
func processingInstruction(p *etree.ProcInst) string {
	if p.Inst == "" {
		return "<?" + p.Target + "?>"
	}
	return "<?" + p.Target + " " + p.Inst + "?>"
}

// canonicalDocument wraps the canonical root element with the canonical
// form of the processing instructions outside it (the XML declaration is
// not one; comments are not part of a URI="" node-set).
func canonicalDocument(doc *etree.Document, root []byte) []byte {
	var before, after []string
	seenRoot := false
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			seenRoot = true
		case *etree.ProcInst:
			if strings.EqualFold(t.Target, "xml") {
				continue
			}
			if seenRoot {
				after = append(after, processingInstruction(t))
			} else {
				before = append(before, processingInstruction(t))
			}
		}
	}
	if len(before) == 0 && len(after) == 0 {
		return root
	}
	var sb strings.Builder
	for _, pi := range before {
		sb.WriteString(pi)
		sb.WriteByte('\n')
	}
	sb.Write(root)
	for _, pi := range after {
		sb.WriteByte('\n')
		sb.WriteString(pi)
	}
	return []byte(sb.String())
}
