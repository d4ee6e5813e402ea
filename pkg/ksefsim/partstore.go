package ksefsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// partStore keeps uploaded batch parts until their package is processed: in memory,
// or as files under a directory. It has its own lock (never held together with a
// caller's wait on the state lock), so uploads of many parts can stream in parallel.
type partStore struct {
	dir string // "" = memory

	mu    sync.Mutex
	mem   map[string][]byte
	files map[string]string
}

// storedPart describes what an upload delivered.
type storedPart struct {
	size int64
	hash string // base64 SHA-256 of the bytes as uploaded
}

func newPartStore(dir string) *partStore {
	return &partStore{dir: dir, mem: map[string][]byte{}, files: map[string]string{}}
}

func partKey(sessionRef string, ordinal int) string {
	return sessionRef + "/" + strconv.Itoa(ordinal)
}

// errPartTooLarge marks an upload over the size cap.
var errPartTooLarge = errors.New("part larger than allowed")

// put streams one part in, hashing it on the way, and replaces any earlier upload of
// the same part (blob storage overwrites). At most limit bytes are accepted.
func (p *partStore) put(sessionRef string, ordinal int, r io.Reader, limit int64) (storedPart, error) {
	h := sha256.New()
	lr := io.LimitReader(r, limit+1)
	key := partKey(sessionRef, ordinal)
	var n int64
	if p.dir == "" {
		var buf bytes.Buffer
		var err error
		if n, err = io.Copy(io.MultiWriter(&buf, h), lr); err != nil {
			return storedPart{}, fmt.Errorf("read part: %w", err)
		}
		if n > limit {
			return storedPart{}, errPartTooLarge
		}
		p.mu.Lock()
		p.mem[key] = buf.Bytes()
		p.mu.Unlock()
	} else {
		f, err := os.CreateTemp(p.dir, "ksefsim-part-*")
		if err != nil {
			return storedPart{}, fmt.Errorf("store part: %w", err)
		}
		n, err = io.Copy(io.MultiWriter(f, h), lr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && n > limit {
			err = errPartTooLarge
		}
		if err != nil {
			_ = os.Remove(f.Name())
			return storedPart{}, fmt.Errorf("store part: %w", err)
		}
		p.mu.Lock()
		old := p.files[key]
		p.files[key] = f.Name()
		p.mu.Unlock()
		if old != "" {
			_ = os.Remove(old)
		}
	}
	return storedPart{size: n, hash: base64.StdEncoding.EncodeToString(h.Sum(nil))}, nil
}

// open returns a reader over a stored part.
func (p *partStore) open(sessionRef string, ordinal int) (io.ReadCloser, error) {
	key := partKey(sessionRef, ordinal)
	p.mu.Lock()
	b, inMem := p.mem[key]
	name := p.files[key]
	p.mu.Unlock()
	switch {
	case inMem:
		return io.NopCloser(bytes.NewReader(b)), nil
	case name != "":
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open stored part: %w", err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("part %d of session %s was not stored", ordinal, sessionRef)
}

// drop forgets every part of a session.
func (p *partStore) drop(sessionRef string, parts int) {
	for i := 1; i <= parts; i++ {
		key := partKey(sessionRef, i)
		p.mu.Lock()
		delete(p.mem, key)
		name := p.files[key]
		delete(p.files, key)
		p.mu.Unlock()
		if name != "" {
			_ = os.Remove(name)
		}
	}
}

// scratch is where a reassembled package goes: a temporary file under dir, or memory.
type scratch struct {
	f   *os.File
	buf bytes.Buffer
}

func (p *partStore) newScratch() (*scratch, error) {
	if p.dir == "" {
		return &scratch{}, nil
	}
	f, err := os.CreateTemp(p.dir, "ksefsim-package-*")
	if err != nil {
		return nil, fmt.Errorf("create package file: %w", err)
	}
	return &scratch{f: f}, nil
}

func (s *scratch) Write(b []byte) (int, error) {
	if s.f != nil {
		return s.f.Write(b)
	}
	return s.buf.Write(b)
}

// readerAt returns the written bytes for random access (ZIP needs it).
func (s *scratch) readerAt() io.ReaderAt {
	if s.f != nil {
		return s.f
	}
	return bytes.NewReader(s.buf.Bytes())
}

// reader returns the written bytes from the start.
func (s *scratch) reader() (io.Reader, error) {
	if s.f != nil {
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("rewind package file: %w", err)
		}
		return s.f, nil
	}
	return bytes.NewReader(s.buf.Bytes()), nil
}

// close releases the scratch space.
func (s *scratch) close() {
	if s.f != nil {
		name := s.f.Name()
		_ = s.f.Close()
		_ = os.Remove(filepath.Clean(name))
	}
	s.buf = bytes.Buffer{}
}
