package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"golang.org/x/term"
)

// ioStreams are the program's standard streams, injected so that tests can capture them.
type ioStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY, OutTTY and ErrTTY say whether stdin/stdout/stderr are terminals.
	InTTY  bool
	OutTTY bool
	ErrTTY bool
	// readSecret reads a secret from the terminal without echo (set when InTTY).
	readSecret func() ([]byte, error)
	// setMemoryLimit sets the process's soft memory limit (runtime/debug); nil when the
	// command runs inside another process (tests), whose memory is not its own.
	setMemoryLimit func(int64) int64
	// color is decided once per run from the terminal, --no-color and NO_COLOR.
	color bool
}

func systemIO() *ioStreams {
	return &ioStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY:          isatty.IsTerminal(os.Stdin.Fd()),
		OutTTY:         isatty.IsTerminal(os.Stdout.Fd()) || isatty.IsCygwinTerminal(os.Stdout.Fd()),
		ErrTTY:         isatty.IsTerminal(os.Stderr.Fd()) || isatty.IsCygwinTerminal(os.Stderr.Fd()),
		readSecret:     func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) },
		setMemoryLimit: debug.SetMemoryLimit,
	}
}

// secretLine reads a secret (a password) from stdin, never from argv: on a terminal it
// prompts on stderr and reads without echo; else it reads one line (empty when stdin is
// empty). The line ending is dropped.
func (s *ioStreams) secretLine(prompt string) (string, error) {
	if s.InTTY && s.readSecret != nil {
		fmt.Fprint(s.ErrOut, prompt)
		b, err := s.readSecret()
		fmt.Fprintln(s.ErrOut)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(s.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// paint returns text coloured with attrs when colour is on, its control characters
// escaped (esc). It configures each color.Color explicitly so that fatih/color's
// package-level switch is never consulted or changed.
func (s *ioStreams) paint(text string, attrs ...color.Attribute) string {
	text = esc(text)
	c := color.New(attrs...)
	if s.color {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c.Sprint(text)
}

func (s *ioStreams) red(text string) string   { return s.paint(text, color.FgRed) }
func (s *ioStreams) green(text string) string { return s.paint(text, color.FgGreen) }
func (s *ioStreams) yellow(text string) string {
	return s.paint(text, color.FgYellow)
}
func (s *ioStreams) bold(text string) string { return s.paint(text, color.Bold) }
