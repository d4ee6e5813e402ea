package lazyre

import (
	"sync"
	"testing"
)

func TestCompiledOnceOnFirstUseAndSharedByGoroutines(t *testing.T) {
	r := New(`^(\d+)-([a-z]+)$`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m := r.FindStringSubmatch("12-ab"); len(m) != 3 || m[1] != "12" || m[2] != "ab" {
				t.Errorf("FindStringSubmatch: %q", m)
			}
		}()
	}
	wg.Wait()
	if r.Compiled() != r.Compiled() {
		t.Fatal("compiled twice")
	}
	if !r.MatchString("7-x") || r.MatchString("x-7") {
		t.Fatal("MatchString")
	}
	if got := r.ReplaceAllString("3-z", "$2$1"); got != "z3" {
		t.Fatalf("ReplaceAllString: %q", got)
	}
	if m := r.FindSubmatch([]byte("5-q")); len(m) != 3 || string(m[2]) != "q" {
		t.Fatalf("FindSubmatch: %q", m)
	}
	if idx := New(`a(b)`).FindAllSubmatchIndex([]byte("abab"), -1); len(idx) != 2 || idx[1][2] != 3 {
		t.Fatalf("FindAllSubmatchIndex: %v", idx)
	}
}

func TestInvalidExpressionPanicsOnFirstUseNotBefore(t *testing.T) {
	r := New(`(`) // no panic here: nothing is compiled yet
	defer func() {
		if recover() == nil {
			t.Fatal("an invalid expression did not panic on first use")
		}
	}()
	r.MatchString("x")
}
