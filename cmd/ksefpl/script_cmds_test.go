package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

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
