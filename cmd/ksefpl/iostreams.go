package main

import (
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
)

// ioStreams are the program's standard streams, injected so that tests can capture them.
type ioStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY and ErrTTY say whether stdout/stderr are terminals.
	OutTTY bool
	ErrTTY bool
	// color is decided once per run from the terminal, --no-color and NO_COLOR.
	color bool
}

func systemIO() *ioStreams {
	return &ioStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY: isatty.IsTerminal(os.Stdout.Fd()) || isatty.IsCygwinTerminal(os.Stdout.Fd()),
		ErrTTY: isatty.IsTerminal(os.Stderr.Fd()) || isatty.IsCygwinTerminal(os.Stderr.Fd()),
	}
}

// paint returns s coloured with attrs when colour is on. It configures each color.Color
// explicitly so that fatih/color's package-level switch is never consulted or changed.
func (s *ioStreams) paint(text string, attrs ...color.Attribute) string {
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
