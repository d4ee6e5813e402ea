package ksefsim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ksefpl/ksefpl/internal/lazyre"
)

// AuthTokenRequest namespaces: the v2.0 and v2.1 schemas of auth/schemy (both are
// accepted by POST /auth/xades-signature, open-api 2.8.1 "Obsługiwane schematy").
const (
	authNamespace20 = "http://ksef.mf.gov.pl/auth/token/2.0"
	authNamespace21 = "http://ksef.mf.gov.pl/auth/token/2.1"
	xsiNamespace    = "http://www.w3.org/2001/XMLSchema-instance"
)

// Subject identifier types of an AuthTokenRequest (SubjectIdentifierTypeEnum).
const (
	subjectByCertificate = "certificateSubject"
	subjectByFingerprint = "certificateFingerprint"
)

// authTokenRequest is what the simulator reads from a signed AuthTokenRequest.
type authTokenRequest struct {
	Namespace    string
	Challenge    string
	ContextType  string // Nip, InternalId, NipVatUe, PeppolId
	ContextValue string
	SubjectType  string // certificateSubject, certificateFingerprint
}

// Value patterns of schemat_auth_v2-0/v2-1.xsd. The XSD patterns are implicitly
// anchored; the ones that spell ^ and $ are written for .NET, which reads them as
// anchors too.
var (
	challengePattern = lazyre.New(`^\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}$`)
	authContextTypes = []string{"Nip", "InternalId", "NipVatUe", "PeppolId"}
	authContextRules = map[string]struct {
		typ string
		re  *lazyre.Regexp
	}{
		"Nip":        {"TNIP", lazyre.New(`^[1-9]((\d[1-9])|([1-9]\d))\d{7}$`)},
		"InternalId": {"TIID", lazyre.New(`^[1-9]((\d[1-9])|([1-9]\d))\d{7}-\d{5}$`)},
		"NipVatUe":   {"TNipVatUE", lazyre.New(`^([1-9]((\d[1-9])|([1-9]\d))\d{7}-((AT)(U\d{8})|(BE)([01]{1}\d{9})|(BG)(\d{9,10})|(CY)(\d{8}[A-Z])|(CZ)(\d{8,10})|(DE)(\d{9})|(DK)(\d{8})|(EE)(\d{9})|(EL)(\d{9})|(ES)([A-Z]\d{8}|\d{8}[A-Z]|[A-Z]\d{7}[A-Z])|(FI)(\d{8})|(FR)[A-Z0-9]{2}\d{9}|(HR)(\d{11})|(HU)(\d{8})|(IE)(\d{7}[A-Z]{2}|\d[A-Z0-9+*]\d{5}[A-Z])|(IT)(\d{11})|(LT)(\d{9}|\d{12})|(LU)(\d{8})|(LV)(\d{11})|(MT)(\d{8})|(NL)([A-Z0-9+*]{12})|(PT)(\d{9})|(RO)(\d{2,10})|(SE)(\d{12})|(SI)(\d{8})|(SK)(\d{10})|(XI)((\d{9}|(\d{12}))|(GD|HA)(\d{3}))))$`)},
		"PeppolId":   {"TPeppolId", lazyre.New(`^P[A-Z]{2}[0-9]{6}$`)},
	}
	ipv4       = `((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])`
	ipPatterns = map[string]*lazyre.Regexp{
		"Ip4Address": lazyre.New(`^` + ipv4 + `$`),
		"Ip4Range":   lazyre.New(`^` + ipv4 + `-` + ipv4 + `$`),
		"Ip4Mask":    lazyre.New(`^` + ipv4 + `/(0|[1-9]|[12][0-9]|3[0-2])$`),
	}
)

// xnode is an element of the signed document, read into a small tree.
type xnode struct {
	name  xml.Name
	attrs []xml.Attr
	text  strings.Builder
	kids  []*xnode
}

// readTree reads a well-formed document (Verified.Document) into a tree.
func readTree(doc []byte) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name, attrs: t.Attr}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// schemaCheck collects the XSD validation messages, worded like the .NET validator
// KSeF uses (21401 details seen in CIRFMF/ksef-api#604).
type schemaCheck struct {
	ns   string
	errs []string
}

func (c *schemaCheck) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func (c *schemaCheck) expected(names ...string) string {
	return fmt.Sprintf("'%s' in namespace '%s'", strings.Join(names, ", "), c.ns)
}

// attributes refuses attributes the schema does not declare (namespace
// declarations and xsi:* are always allowed).
func (c *schemaCheck) attributes(n *xnode) {
	for _, a := range n.attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == xsiNamespace {
			continue
		}
		c.fail("The '%s' attribute is not declared.", qualified(a.Name))
	}
}

// elementOnly checks that a complex element holds no text.
func (c *schemaCheck) elementOnly(n *xnode, expect ...string) {
	if strings.TrimSpace(n.text.String()) != "" {
		c.fail("The element '%s' in namespace '%s' cannot contain text. List of possible elements expected: %s.", n.name.Local, c.ns, c.expected(expect...))
	}
}

// simple returns the text of a simple-typed element that has no children.
func (c *schemaCheck) simple(n *xnode) string {
	c.attributes(n)
	if len(n.kids) > 0 {
		c.fail("The element '%s' in namespace '%s' cannot contain child element '%s' because the parent element's content model is text only.", n.name.Local, c.ns, n.kids[0].name.Local)
	}
	return n.text.String()
}

// sequence checks n's children against a sequence of (name, min, max) particles and
// returns the children by name.
type particle struct {
	name     string
	min, max int
}

func (c *schemaCheck) sequence(n *xnode, parts []particle) map[string][]*xnode {
	c.attributes(n)
	out := map[string][]*xnode{}
	i, count := 0, 0
	var names []string
	for _, p := range parts {
		names = append(names, p.name)
	}
	expectFrom := func(i int) []string {
		var e []string
		for j := i; j < len(parts); j++ {
			e = append(e, parts[j].name)
			if parts[j].min > 0 {
				break
			}
		}
		return e
	}
	for _, k := range n.kids {
		for i < len(parts) && (k.name.Space != c.ns || k.name.Local != parts[i].name || count >= parts[i].max) {
			if count < parts[i].min {
				break
			}
			i, count = i+1, 0
		}
		if i >= len(parts) || k.name.Space != c.ns || k.name.Local != parts[i].name {
			ns := ""
			if k.name.Space != "" {
				ns = " in namespace '" + k.name.Space + "'"
			}
			if i >= len(parts) {
				c.fail("The element '%s' in namespace '%s' has invalid child element '%s'%s.", n.name.Local, c.ns, k.name.Local, ns)
			} else {
				c.fail("The element '%s' in namespace '%s' has invalid child element '%s'%s. List of possible elements expected: %s.", n.name.Local, c.ns, k.name.Local, ns, c.expected(expectFrom(i)...))
			}
			return out
		}
		count++
		out[k.name.Local] = append(out[k.name.Local], k)
	}
	for ; i < len(parts); i, count = i+1, 0 {
		if count < parts[i].min {
			c.fail("The element '%s' in namespace '%s' has incomplete content. List of possible elements expected: %s.", n.name.Local, c.ns, c.expected(expectFrom(i)...))
			break
		}
	}
	c.elementOnly(n, names...)
	return out
}

// Reasons of invalidValue, as the .NET validator words them.
const (
	facetPattern     = "The Pattern constraint failed."
	facetEnumeration = "The Enumeration constraint failed."
	facetLength      = "The actual length is not equal to the specified length."
)

func (c *schemaCheck) invalidValue(n *xnode, value, datatype, reason string) {
	c.fail("The '%s' element is invalid - The value '%s' is invalid according to its datatype '%s' - %s", qualified(n.name), value, datatype, reason)
}

// collapse is the xsd:token whitespace facet.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// parseAuthTokenRequest validates the signed document against the AuthTokenRequest
// schema (v2.0 or v2.1) and reads it. It returns the 21401 details on failure.
func parseAuthTokenRequest(doc []byte) (*authTokenRequest, []string) {
	root, err := readTree(doc)
	if err != nil {
		return nil, []string{"Dokument nie jest poprawnym dokumentem XML: " + err.Error() + "."}
	}
	if root.name.Local != "AuthTokenRequest" || (root.name.Space != authNamespace20 && root.name.Space != authNamespace21) {
		return nil, []string{fmt.Sprintf("The '%s' element is not declared.", qualified(root.name))}
	}
	c := &schemaCheck{ns: root.name.Space}
	req := &authTokenRequest{Namespace: root.name.Space}
	top := c.sequence(root, []particle{
		{"Challenge", 1, 1}, {"ContextIdentifier", 1, 1}, {"SubjectIdentifierType", 1, 1}, {"AuthorizationPolicy", 0, 1},
	})
	if ch := top["Challenge"]; len(ch) == 1 {
		v := collapse(c.simple(ch[0]))
		switch {
		case len(v) != 36:
			c.invalidValue(ch[0], v, "Token", facetLength)
		case !challengePattern.MatchString(v):
			c.invalidValue(ch[0], v, "Token", facetPattern)
		}
		req.Challenge = v
	}
	if ci := top["ContextIdentifier"]; len(ci) == 1 {
		n := ci[0]
		c.attributes(n)
		c.elementOnly(n, authContextTypes...)
		switch {
		case len(n.kids) == 0:
			c.fail("The element 'ContextIdentifier' in namespace '%s' has incomplete content. List of possible elements expected: %s.", c.ns, c.expected(authContextTypes...))
		case len(n.kids) > 1:
			c.fail("The element 'ContextIdentifier' in namespace '%s' has invalid child element '%s' in namespace '%s'.", c.ns, n.kids[1].name.Local, n.kids[1].name.Space)
		default:
			k := n.kids[0]
			rule, ok := authContextRules[k.name.Local]
			if !ok || k.name.Space != c.ns {
				c.fail("The element 'ContextIdentifier' in namespace '%s' has invalid child element '%s' in namespace '%s'. List of possible elements expected: %s.", c.ns, k.name.Local, k.name.Space, c.expected(authContextTypes...))
				break
			}
			v := c.simple(k)
			if !rule.re.MatchString(v) {
				c.invalidValue(k, v, c.ns+":"+rule.typ, facetPattern)
			}
			req.ContextType, req.ContextValue = k.name.Local, v
		}
	}
	if st := top["SubjectIdentifierType"]; len(st) == 1 {
		v := collapse(c.simple(st[0]))
		if v != subjectByCertificate && v != subjectByFingerprint {
			c.invalidValue(st[0], v, c.ns+":SubjectIdentifierTypeEnum", facetEnumeration)
		}
		req.SubjectType = v
	}
	if ap := top["AuthorizationPolicy"]; len(ap) == 1 {
		ips := c.sequence(ap[0], []particle{{"AllowedIps", 1, 1}})
		if a := ips["AllowedIps"]; len(a) == 1 {
			lists := c.sequence(a[0], []particle{{"Ip4Address", 0, 10}, {"Ip4Range", 0, 10}, {"Ip4Mask", 0, 10}})
			for name, nodes := range lists {
				for _, n := range nodes {
					if v := collapse(c.simple(n)); !ipPatterns[name].MatchString(v) {
						c.invalidValue(n, v, "Token", facetPattern)
					}
				}
			}
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return req, nil
}
