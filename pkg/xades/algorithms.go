package xades

import (
	"crypto"
	_ "crypto/sha1"   // registers crypto.SHA1
	_ "crypto/sha256" // registers crypto.SHA256
	_ "crypto/sha3"   // registers crypto.SHA3_*
	_ "crypto/sha512" // registers crypto.SHA384, crypto.SHA512

	dsig "github.com/russellhaering/goxmldsig"
)

// Canonicalisation and transform algorithms.
const (
	algExcC14N              = string(dsig.CanonicalXML10ExclusiveAlgorithmId)             // http://www.w3.org/2001/10/xml-exc-c14n#
	algExcC14NComments      = string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId) // ...#WithComments
	algC14N10               = string(dsig.CanonicalXML10RecAlgorithmId)                   // http://www.w3.org/TR/2001/REC-xml-c14n-20010315
	algC14N10Comments       = string(dsig.CanonicalXML10WithCommentsAlgorithmId)
	algC14N11               = string(dsig.CanonicalXML11AlgorithmId) // http://www.w3.org/2006/12/xml-c14n11
	algC14N11Comments       = string(dsig.CanonicalXML11WithCommentsAlgorithmId)
	algEnvelopedSignature   = string(dsig.EnvelopedSignatureAltorithmId) // http://www.w3.org/2000/09/xmldsig#enveloped-signature
	nsExcC14N               = "http://www.w3.org/2001/10/xml-exc-c14n#"
	nsXML                   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS                 = "http://www.w3.org/2000/xmlns/"
	algDigestSHA256         = "http://www.w3.org/2001/04/xmlenc#sha256"
	algSignatureRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algSignatureECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	algSignatureECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	algSignatureECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
)

// isC14N reports whether alg is a canonicalisation algorithm this package
// implements (as a CanonicalizationMethod or as a Reference transform).
func isC14N(alg string) bool {
	switch alg {
	case algExcC14N, algExcC14NComments, algC14N10, algC14N10Comments, algC14N11, algC14N11Comments:
		return true
	}
	return false
}

// digestAlgorithms maps accepted DigestMethod URIs to hashes.
var digestAlgorithms = map[string]crypto.Hash{
	"http://www.w3.org/2000/09/xmldsig#sha1":          crypto.SHA1,
	"http://www.w3.org/2001/04/xmlenc#sha256":         crypto.SHA256,
	"http://www.w3.org/2001/04/xmldsig-more#sha384":   crypto.SHA384,
	"http://www.w3.org/2001/04/xmlenc#sha512":         crypto.SHA512,
	"http://www.w3.org/2007/05/xmldsig-more#sha3-256": crypto.SHA3_256,
	"http://www.w3.org/2007/05/xmldsig-more#sha3-384": crypto.SHA3_384,
	"http://www.w3.org/2007/05/xmldsig-more#sha3-512": crypto.SHA3_512,
}

type keyAlg int

const (
	keyRSA keyAlg = iota + 1
	keyRSAPSS
	keyECDSA
)

type signatureAlgorithm struct {
	key  keyAlg
	hash crypto.Hash
}

// signatureAlgorithms maps accepted SignatureMethod URIs.
var signatureAlgorithms = map[string]signatureAlgorithm{
	"http://www.w3.org/2000/09/xmldsig#rsa-sha1":        {keyRSA, crypto.SHA1},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": {keyRSA, crypto.SHA256},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": {keyRSA, crypto.SHA384},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": {keyRSA, crypto.SHA512},

	"http://www.w3.org/2007/05/xmldsig-more#sha1-rsa-MGF1":     {keyRSAPSS, crypto.SHA1},
	"http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1":   {keyRSAPSS, crypto.SHA256},
	"http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1":   {keyRSAPSS, crypto.SHA384},
	"http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1":   {keyRSAPSS, crypto.SHA512},
	"http://www.w3.org/2007/05/xmldsig-more#sha3-256-rsa-MGF1": {keyRSAPSS, crypto.SHA3_256},
	"http://www.w3.org/2007/05/xmldsig-more#sha3-384-rsa-MGF1": {keyRSAPSS, crypto.SHA3_384},
	"http://www.w3.org/2007/05/xmldsig-more#sha3-512-rsa-MGF1": {keyRSAPSS, crypto.SHA3_512},

	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1":     {keyECDSA, crypto.SHA1},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256":   {keyECDSA, crypto.SHA256},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384":   {keyECDSA, crypto.SHA384},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512":   {keyECDSA, crypto.SHA512},
	"http://www.w3.org/2021/04/xmldsig-more#ecdsa-sha3-256": {keyECDSA, crypto.SHA3_256},
	"http://www.w3.org/2021/04/xmldsig-more#ecdsa-sha3-384": {keyECDSA, crypto.SHA3_384},
	"http://www.w3.org/2021/04/xmldsig-more#ecdsa-sha3-512": {keyECDSA, crypto.SHA3_512},
}

// Minimum key sizes KSeF accepts.
const (
	minRSABits   = 2048
	minCurveBits = 256
)
