package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rogpeppe/go-internal/testscript"
)

// scriptCmds are extra testscript commands used by the CLI scenarios.
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// nobytes DIR TEXT: no file under DIR contains TEXT.
		"nobytes": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 2 {
				ts.Fatalf("usage: nobytes DIR TEXT")
			}
			found := ""
			filepath.Walk(ts.MkAbs(args[0]), func(p string, info os.FileInfo, err error) error {
				if err == nil && info.Mode().IsRegular() {
					b, _ := os.ReadFile(p)
					if strings.Contains(string(b), args[1]) {
						found = p
					}
				}
				return nil
			})
			if (found != "") != neg {
				if neg {
					ts.Fatalf("%q not found under %s", args[1], args[0])
				}
				ts.Fatalf("%q found in %s", args[1], found)
			}
		},
		// nokey DIR KEY.pem: no file under DIR holds the private key of KEY.pem in plaintext:
		// its PKCS#8 DER, that DER in base64, or the private scalar/exponent itself (raw,
		// hex or base64). (PEM lines are not compared: an EC PKCS#8 key also carries the
		// public key, which the stored certificate holds too.)
		"nokey": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 2 || neg {
				ts.Fatalf("usage: nokey DIR KEY.pem")
			}
			block, _ := pem.Decode([]byte(ts.ReadFile(args[1])))
			if block == nil {
				ts.Fatalf("%s holds no PEM block", args[1])
			}
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			ts.Check(err)
			var secret []byte
			switch k := key.(type) {
			case *ecdsa.PrivateKey:
				secret, err = k.Bytes()
				ts.Check(err)
			case *rsa.PrivateKey:
				secret = k.D.Bytes()
			default:
				ts.Fatalf("%s: unexpected key type %T", args[1], key)
			}
			needles := [][]byte{block.Bytes, []byte(base64.StdEncoding.EncodeToString(block.Bytes)), secret,
				[]byte(hex.EncodeToString(secret)), []byte(strings.ToUpper(hex.EncodeToString(secret))),
				[]byte(base64.StdEncoding.EncodeToString(secret))}
			filepath.Walk(ts.MkAbs(args[0]), func(p string, info os.FileInfo, err error) error {
				if err == nil && info.Mode().IsRegular() {
					b, _ := os.ReadFile(p)
					for _, n := range needles {
						if bytes.Contains(b, n) {
							ts.Fatalf("the private key of %s is in %s in plaintext", args[1], p)
						}
					}
				}
				return nil
			})
		},
		// validjson FILE: FILE (usually stdout) parses as JSON.
		"validjson": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: validjson FILE")
			}
			var v any
			err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &v)
			if (err == nil) == neg {
				ts.Fatalf("validjson %s: %v", args[0], err)
			}
		},
		// prom FILE SERIES VALUE: FILE parses with Prometheus's own text parser and the
		// sample SERIES (name{label="value",…}, labels in any order) has VALUE.
		"prom": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 3 || neg {
				ts.Fatalf("usage: prom FILE SERIES VALUE")
			}
			got, err := promSamples(ts.ReadFile(args[0]))
			if err != nil {
				ts.Fatalf("prom %s: the official parser refuses it: %v", args[0], err)
			}
			want, err := strconv.ParseFloat(args[2], 64)
			ts.Check(err)
			key := promKey(args[1])
			if v, ok := got[key]; !ok || v != want {
				ts.Fatalf("prom %s: %s = %v (present: %v), want %v", args[0], key, v, ok, want)
			}
		},
		// jsonlog FILE [SECRETFILE]: every line of FILE is a JSON object with time, level
		// and message, and none holds the secret in SECRETFILE (nor its part after the
		// last |, a KSeF token's secret).
		"jsonlog": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 1 || len(args) > 2 || neg {
				ts.Fatalf("usage: jsonlog FILE [SECRETFILE]")
			}
			var secrets []string
			if len(args) == 2 {
				sec := strings.TrimSpace(ts.ReadFile(args[1]))
				secrets = append(secrets, sec, sec[strings.LastIndex(sec, "|")+1:])
			}
			lines := strings.Split(strings.TrimRight(ts.ReadFile(args[0]), "\n"), "\n")
			for i, line := range lines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					ts.Fatalf("%s line %d is not a JSON object: %v: %s", args[0], i+1, err, line)
				}
				for _, k := range []string{"time", "level", "message"} {
					if _, ok := rec[k]; !ok {
						ts.Fatalf("%s line %d has no %s: %s", args[0], i+1, k, line)
					}
				}
				for _, sec := range secrets {
					if sec != "" && strings.Contains(line, sec) {
						ts.Fatalf("%s line %d holds the secret of %s", args[0], i+1, args[1])
					}
				}
			}
		},
		// exit N PROG ARGS...: runs PROG like exec and requires exit status N.
		"exit": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) < 2 || neg {
				ts.Fatalf("usage: exit N PROG [ARGS...]")
			}
			want, err := strconv.Atoi(args[0])
			ts.Check(err)
			got := 0
			if err := ts.Exec(args[1], args[2:]...); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					ts.Fatalf("exec %s: %v", args[1], err)
				}
				got = ee.ExitCode()
			}
			if got != want {
				ts.Fatalf("exit status %d, want %d", got, want)
			}
		},
		// perm PATH MODE: PATH has exactly this permission (octal).
		"perm": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 2 {
				ts.Fatalf("usage: perm PATH MODE")
			}
			st, err := os.Stat(ts.MkAbs(args[0]))
			ts.Check(err)
			got := strings.TrimPrefix(st.Mode().Perm().String(), "-")
			var want os.FileMode
			for _, c := range args[1] {
				want = want*8 + os.FileMode(c-'0')
			}
			if (st.Mode().Perm() == want) == neg {
				ts.Fatalf("%s mode %s (%o), want %o", args[0], got, st.Mode().Perm(), want)
			}
		},
	}
}

// promSamples parses the Prometheus text format with the official parser: every sample
// by its promKey.
func promSamples(text string) (map[string]float64, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name, mf := range fams {
		for _, m := range mf.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			sort.Strings(labels)
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out, nil
}

// promKey writes a series name{a="1",b="2"} with its labels sorted.
func promKey(series string) string {
	name, rest, _ := strings.Cut(series, "{")
	rest = strings.TrimSuffix(rest, "}")
	var labels []string
	if rest != "" {
		labels = strings.Split(rest, ",")
	}
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}"
}
