// Package lazyre owns regular expressions compiled on first use instead of at program
// start: every ksefpl command is one binary, and a fresh process (the shop's `queue
// invoice`, a monitoring check) should not pay for compiling the simulator's, the QR
// code's and the FA(3) checker's patterns it never uses. A Regexp is safe for concurrent
// use, like regexp.Regexp.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled (with regexp.MustCompile) when first used.
type Regexp struct {
	get func() *regexp.Regexp
}

// New returns expr, to be compiled on first use; an invalid expr panics then.
func New(expr string) *Regexp {
	return &Regexp{get: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// Compiled returns the compiled expression.
func (r *Regexp) Compiled() *regexp.Regexp { return r.get() }

// MatchString reports whether s contains a match.
func (r *Regexp) MatchString(s string) bool { return r.get().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.get().FindStringSubmatch(s) }

// ReplaceAllString is regexp.Regexp.ReplaceAllString.
func (r *Regexp) ReplaceAllString(src, repl string) string {
	return r.get().ReplaceAllString(src, repl)
}

// FindSubmatch is regexp.Regexp.FindSubmatch.
func (r *Regexp) FindSubmatch(b []byte) [][]byte { return r.get().FindSubmatch(b) }

// FindAllSubmatchIndex is regexp.Regexp.FindAllSubmatchIndex.
func (r *Regexp) FindAllSubmatchIndex(b []byte, n int) [][]int {
	return r.get().FindAllSubmatchIndex(b, n)
}
