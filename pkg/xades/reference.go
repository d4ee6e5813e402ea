package xades

import (
	"crypto"
	"encoding/base64"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// Limits on the signature's own structure.
const (
	maxReferences = 8
	maxTransforms = 8
)

type transform struct {
	alg        string
	prefixList string // exclusive canonicalisation only
}

// reference is a parsed ds:Reference.
type reference struct {
	uri         string
	typ         string
	transforms  []transform
	digestAlg   string
	hash        crypto.Hash
	digestValue []byte
}

// parseReference reads a ds:Reference and checks that everything it asks
// for is supported. Sign uses it on the references it builds, so that
// signing and verification share one implementation.
func parseReference(el *etree.Element) (*reference, *VerifyError) {
	ref := &reference{typ: el.SelectAttrValue("Type", "")}
	uri := el.SelectAttr("URI")
	if uri == nil {
		return nil, verr(KindUnsupported, nil, "a Reference without URI is not supported")
	}
	ref.uri = uri.Value
	if ref.uri != "" && !isBareNameXPointer(ref.uri) {
		return nil, verr(KindUnsupported, nil, "Reference URI %q is not supported (only \"\" and \"#id\")", ref.uri)
	}
	kids := el.ChildElements()
	if len(kids) > 0 && is(kids[0], NamespaceDSig, "Transforms") {
		var e *VerifyError
		if ref.transforms, e = parseTransforms(kids[0]); e != nil {
			return nil, e
		}
		kids = kids[1:]
	}
	if len(kids) != 2 || !is(kids[0], NamespaceDSig, "DigestMethod") || !is(kids[1], NamespaceDSig, "DigestValue") {
		return nil, verr(KindInvalidSignature, nil, "Reference %q must hold Transforms?, DigestMethod, DigestValue", ref.uri)
	}
	ref.digestAlg = kids[0].SelectAttrValue("Algorithm", "")
	h, ok := digestAlgorithms[ref.digestAlg]
	if !ok || !h.Available() {
		return nil, verr(KindUnsupported, nil, "DigestMethod %q is not supported", ref.digestAlg)
	}
	ref.hash = h
	v, err := decodeBase64(textOf(kids[1]))
	if err != nil {
		return nil, verr(KindInvalidSignature, err, "bad DigestValue of Reference %q", ref.uri)
	}
	ref.digestValue = v
	return ref, nil
}

// isBareNameXPointer reports whether uri is "#" followed by an XML name
// (not "#xpointer(...)").
func isBareNameXPointer(uri string) bool {
	if len(uri) < 2 || uri[0] != '#' {
		return false
	}
	return !strings.ContainsAny(uri[1:], "()#/ \t\r\n\"'<>")
}

// parseTransforms reads ds:Transforms. Accepted sequences: any number of
// enveloped-signature transforms followed by at most one canonicalisation.
func parseTransforms(el *etree.Element) ([]transform, *VerifyError) {
	kids := el.ChildElements()
	if len(kids) > maxTransforms {
		return nil, verr(KindUnsupported, nil, "more than %d transforms", maxTransforms)
	}
	var out []transform
	c14nSeen := false
	for _, t := range kids {
		if !is(t, NamespaceDSig, "Transform") {
			return nil, verr(KindInvalidSignature, nil, "unexpected <%s> in Transforms", t.FullTag())
		}
		alg := t.SelectAttrValue("Algorithm", "")
		switch {
		case c14nSeen:
			return nil, verr(KindUnsupported, nil, "transform %q after a canonicalisation is not supported", alg)
		case alg == algEnvelopedSignature:
			if len(t.ChildElements()) > 0 {
				return nil, verr(KindUnsupported, nil, "enveloped-signature transform with parameters")
			}
			out = append(out, transform{alg: alg})
		case isC14N(alg):
			pl, e := inclusivePrefixes(t, alg)
			if e != nil {
				return nil, e
			}
			out = append(out, transform{alg: alg, prefixList: pl})
			c14nSeen = true
		default:
			return nil, verr(KindUnsupported, nil, "transform %q is not supported", alg)
		}
	}
	return out, nil
}

// inclusivePrefixes reads the InclusiveNamespaces PrefixList parameter of an
// exclusive canonicalisation (a Transform or a CanonicalizationMethod).
func inclusivePrefixes(el *etree.Element, alg string) (string, *VerifyError) {
	kids := el.ChildElements()
	if len(kids) == 0 {
		return "", nil
	}
	exclusive := alg == algExcC14N || alg == algExcC14NComments
	if !exclusive || len(kids) > 1 || !is(kids[0], nsExcC14N, "InclusiveNamespaces") {
		return "", verr(KindUnsupported, nil, "unsupported parameters of %q", alg)
	}
	pl := kids[0].SelectAttrValue("PrefixList", "")
	for _, p := range strings.Fields(pl) {
		if p == "#default" {
			return "", verr(KindUnsupported, nil, "InclusiveNamespaces PrefixList \"#default\" is not supported")
		}
	}
	return pl, nil
}

// docContext is a parsed document holding one signature.
type docContext struct {
	doc  *etree.Document
	root *etree.Element
	sig  *etree.Element
	ids  map[string][]*etree.Element
}

func newDocContext(p *parsedDoc, sig *etree.Element) *docContext {
	return &docContext{doc: p.doc, root: p.root, sig: sig, ids: collectIDs(p.root)}
}

// collectIDs indexes every element by the values of its Id, ID and id attributes.
func collectIDs(root *etree.Element) map[string][]*etree.Element {
	ids := map[string][]*etree.Element{}
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		var vals []string
		for _, a := range el.Attr {
			if a.Space == "" && (a.Key == "Id" || a.Key == "ID" || a.Key == "id") {
				if !slices.Contains(vals, a.Value) {
					vals = append(vals, a.Value)
					ids[a.Value] = append(ids[a.Value], el)
				}
			}
		}
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	return ids
}

// dereference computes the octets ref digests and the element it points at.
// The node-set of URI="" and of URI="#id" excludes comments (XMLDSig
// §4.4.3.3), whatever canonicalisation follows.
func (c *docContext) dereference(ref *reference) ([]byte, *etree.Element, *VerifyError) {
	target := c.root
	if ref.uri != "" {
		id := ref.uri[1:]
		switch els := c.ids[id]; len(els) {
		case 0:
			return nil, nil, verr(KindInvalidSignature, nil, "Reference %q: no element has this Id", ref.uri)
		case 1:
			target = els[0]
		default:
			return nil, nil, verr(KindInvalidSignature, nil, "Reference %q: the Id is not unique in the document", ref.uri)
		}
	}
	alg, prefixList, enveloped := algC14N10, "", false // C14N 1.0 is the default for a final node-set
	for _, t := range ref.transforms {
		if t.alg == algEnvelopedSignature {
			enveloped = true
		} else {
			alg, prefixList = t.alg, t.prefixList
		}
	}
	if enveloped && pathTo(c.sig, target) != nil {
		return []byte{}, target, nil // the signature encloses the target: nothing is left
	}
	node := detach(target, alg)
	if enveloped {
		if path := pathTo(target, c.sig); path != nil {
			parent := node
			for _, i := range path[:len(path)-1] {
				parent = parent.Child[i].(*etree.Element)
			}
			parent.RemoveChildAt(path[len(path)-1])
		}
	}
	removeComments(node)
	out, err := canonicalize(node, alg, prefixList)
	if err != nil {
		return nil, nil, verr(KindMalformed, err, "cannot canonicalise Reference %q", ref.uri)
	}
	if ref.uri == "" {
		out = canonicalDocument(c.doc, out)
	}
	return out, target, nil
}

// pathTo returns the child indexes leading from anc down to el (empty when
// el == anc), or nil when el is not in anc's subtree.
func pathTo(anc, el *etree.Element) []int {
	var rev []int
	for e := el; e != anc; e = e.Parent() {
		if e == nil || e.Parent() == nil {
			return nil
		}
		rev = append(rev, e.Index())
	}
	path := make([]int, 0, len(rev))
	for i := len(rev) - 1; i >= 0; i-- {
		path = append(path, rev[i])
	}
	return path
}

// digestOf hashes data.
func digestOf(h crypto.Hash, data []byte) []byte {
	w := h.New()
	w.Write(data)
	return w.Sum(nil)
}

// decodeBase64 decodes base64 text that may contain XML whitespace.
func decodeBase64(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(clean)
}
