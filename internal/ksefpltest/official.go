package ksefpltest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// OfficialDomain is the domain of the Ministry of Finance's KSeF hosts.
const OfficialDomain = "ksef.mf.gov.pl"

// OfficialHosts makes a handler (the simulator) answer as the official KSeF hosts
// (api.ksef.mf.gov.pl, api-test…, api-latarnia…, all of *.ksef.mf.gov.pl) without any
// network beyond loopback: the handler is served over TLS with a certificate for
// *.ksef.mf.gov.pl from a test CA, behind an HTTP CONNECT proxy that sends every
// *.ksef.mf.gov.pl:443 tunnel to it and refuses any other. A client reaches it the way a
// shop behind a corporate proxy reaches KSeF: through HTTPS_PROXY, trusting the CA.
//
// In-process callers use Client; a started ksefpl process gets Env (HTTPS_PROXY and
// SSL_CERT_FILE), which Go's default transport and certificate pool read.
type OfficialHosts struct {
	// ProxyURL is the CONNECT proxy (http://127.0.0.1:PORT).
	ProxyURL string
	// CAFile is the test CA's certificate (PEM), for SSL_CERT_FILE.
	CAFile string
	// Roots holds the test CA.
	Roots *x509.CertPool

	tlsSrv   *httptest.Server
	proxySrv *httptest.Server
	mu       sync.Mutex
	tunnels  []net.Conn
}

// NewOfficialHosts starts the TLS server for h and the proxy in front of it; dir receives
// the CA file. Close stops both.
func NewOfficialHosts(h http.Handler, dir string) (*OfficialHosts, error) {
	caCert, leaf, err := officialCertificates()
	if err != nil {
		return nil, err
	}
	o := &OfficialHosts{Roots: x509.NewCertPool(), CAFile: filepath.Join(dir, "official-test-ca.pem")}
	o.Roots.AddCert(caCert)
	pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
	if err := os.WriteFile(o.CAFile, pemCA, 0o600); err != nil {
		return nil, err
	}
	o.tlsSrv = httptest.NewUnstartedServer(h)
	o.tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	o.tlsSrv.StartTLS()
	o.proxySrv = httptest.NewServer(http.HandlerFunc(o.connect))
	o.ProxyURL = o.proxySrv.URL
	return o, nil
}

// Client is an HTTP client that reaches the official hosts through the proxy, trusting
// the test CA.
func (o *OfficialHosts) Client() *http.Client {
	proxy, _ := url.Parse(o.ProxyURL)
	return &http.Client{Transport: &http.Transport{
		// Only the official hosts go through the proxy: the simulator's loopback
		// address (environment local) and anything else are reached directly.
		Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Scheme == "https" && strings.HasSuffix(r.URL.Hostname(), "."+OfficialDomain) {
				return proxy, nil
			}
			return nil, nil
		},
		TLSClientConfig: &tls.Config{RootCAs: o.Roots, MinVersion: tls.VersionTLS12},
	}, Timeout: 30 * time.Second}
}

// Env is the environment a started ksefpl process needs to reach the official hosts.
func (o *OfficialHosts) Env() map[string]string {
	return map[string]string{"HTTPS_PROXY": o.ProxyURL, "SSL_CERT_FILE": o.CAFile}
}

// Close stops the proxy (and its open tunnels) and the TLS server.
func (o *OfficialHosts) Close() {
	o.proxySrv.Close()
	o.mu.Lock()
	for _, c := range o.tunnels {
		c.Close()
	}
	o.mu.Unlock()
	o.tlsSrv.Close()
}

// connect serves CONNECT *.ksef.mf.gov.pl:443 by tunnelling to the TLS server.
func (o *OfficialHosts) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "this test proxy only tunnels (CONNECT)", http.StatusMethodNotAllowed)
		return
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil || port != "443" || !strings.HasSuffix(host, "."+OfficialDomain) {
		http.Error(w, "this test proxy only reaches *."+OfficialDomain+":443", http.StatusForbidden)
		return
	}
	up, err := net.Dial("tcp", o.tlsSrv.Listener.Addr().String())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	o.mu.Lock()
	o.tunnels = append(o.tunnels, up, down)
	o.mu.Unlock()
	if _, err := down.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		up.Close()
		down.Close()
		return
	}
	go pipe(up, buf.Reader, down)
	go pipe(down, up, up)
}

// pipe copies src to dst, then closes both ends.
func pipe(dst io.WriteCloser, src io.Reader, srcConn io.Closer) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	srcConn.Close()
}

// officialCertificates makes a test CA and a certificate for *.ksef.mf.gov.pl it signs.
func officialCertificates() (*x509.Certificate, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ksefpl test CA standing in for the public CAs"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "*." + OfficialDomain},
		DNSNames:  []string{"*." + OfficialDomain},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("official test certificate: %w", err)
	}
	return caCert, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
