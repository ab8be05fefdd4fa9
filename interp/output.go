package interp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

// A stream carries one of the cell's standard streams: user code writes to
// the *os.File w, a goroutine reads the other end and hands the text to the
// session's Output as it comes.
//
// To know that everything written so far has been delivered, the session
// writes a sentinel into the pipe (sync); the reader strips it and reports
// it on synced. On stderr the reader also takes out the lines yaegi writes
// when a panic unwinds an interpreted frame ("3:5: panic: main.f(...)") and
// keeps them for the traceback.
type stream struct {
	name     string
	r, w     *os.File
	sentinel []byte
	emit     func(name, text string)
	quiet    *atomic.Bool // drop output (while evaluating user expressions)
	synced   chan struct{}
	done     chan struct{} // closed when the reader has stopped
	filter   bool          // take out yaegi's panic lines (stderr)

	mu     sync.Mutex
	panics []string // panic lines seen since the last takePanics
}

func newStream(name string, sentinel []byte, quiet *atomic.Bool, emit func(name, text string), filter bool) (*stream, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the %s pipe: %w", name, err)
	}
	s := &stream{
		name: name, r: r, w: w, sentinel: sentinel, emit: emit, quiet: quiet,
		synced: make(chan struct{}, 1), done: make(chan struct{}), filter: filter,
	}
	go s.read()
	return s, nil
}

// read forwards the pipe's content until the write end is closed.
func (s *stream) read() {
	defer close(s.done)
	buf := make([]byte, 32<<10)
	var pending []byte // bytes held back: a possible start of a sentinel or panic line
	for {
		n, err := s.r.Read(buf)
		if n > 0 {
			pending = s.process(append(pending, buf[:n]...))
		}
		if err != nil {
			if len(pending) > 0 {
				s.deliver(pending)
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				slog.Error("reading cell output", "stream", s.name, "err", err)
			}
			return
		}
	}
}

// process delivers data up to what must wait for more bytes, and returns
// that rest.
func (s *stream) process(data []byte) []byte {
	for {
		i := bytes.Index(data, s.sentinel)
		if i < 0 {
			break
		}
		s.deliver(data[:i])
		data = data[i+len(s.sentinel):]
		select {
		case s.synced <- struct{}{}:
		default:
		}
	}
	keep := sentinelPrefixLen(data, s.sentinel)
	if s.filter {
		// Hold back an unfinished last line if it may become a panic line.
		if nl := bytes.LastIndexByte(data, '\n'); mayBePanicLine(string(data[nl+1:])) {
			keep = max(keep, len(data)-nl-1)
		}
	}
	s.deliver(data[:len(data)-keep])
	return append([]byte(nil), data[len(data)-keep:]...)
}

// deliver hands text to the Output, without yaegi's panic lines.
func (s *stream) deliver(b []byte) {
	if len(b) == 0 {
		return
	}
	text := string(b)
	if s.filter && strings.Contains(text, ": panic: ") {
		var kept strings.Builder
		for line := range strings.SplitAfterSeq(text, "\n") {
			if panicLine.MatchString(strings.TrimSuffix(line, "\n")) {
				s.mu.Lock()
				s.panics = append(s.panics, strings.TrimSuffix(line, "\n"))
				s.mu.Unlock()
				continue
			}
			kept.WriteString(line)
		}
		text = kept.String()
	}
	if text == "" || s.quiet.Load() {
		return
	}
	s.emit(s.name, text)
}

// takePanics returns the panic lines seen since the last call.
func (s *stream) takePanics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.panics
	s.panics = nil
	return p
}

// StdoutFile returns the file the cells' standard output is written to:
// the write end of the pipe the session reads and syncs before each
// result. The engine process makes it its file descriptor 1 too, so that
// what compiled code writes to fd 1 is ordered with the cell's output.
func (s *Session) StdoutFile() *os.File { return s.stdout.w }

// sync writes the sentinel; the caller then waits on s.synced.
func (s *stream) sync() error {
	_, err := s.w.Write(s.sentinel)
	return err
}

// close closes the write end and waits for the reader to drain the pipe.
func (s *stream) close() error {
	err := s.w.Close()
	<-s.done
	s.r.Close()
	return err
}

// panicLine matches what yaegi writes to the interpreter's stderr for each
// interpreted frame a panic unwinds: "7000002:5: panic: main.f(...)" (the
// session parses cells as file _.go, which yaegi leaves out, with lines
// numbered as in lineDirective).
var panicLine = regexp.MustCompile(`^(?:_\.go:)?(\d+):(\d+): panic: (\S*)\(\.\.\.\)$`)

var (
	panicHead       = regexp.MustCompile(`^(?:_\.go:)?\d+:\d+:$`)
	panicHeadDigits = regexp.MustCompile(`^(?:\d*|\d+:\d*|\d+:\d+:)$`)
)

// mayBePanicLine tells whether s, an unfinished line, may grow into a line
// panicLine matches.
func mayBePanicLine(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	head, rest, found := strings.Cut(s, " ")
	if !found {
		if strings.HasPrefix(sourceName+":", head) {
			return true
		}
		return panicHeadDigits.MatchString(strings.TrimPrefix(head, sourceName+":"))
	}
	if !panicHead.MatchString(head) {
		return false
	}
	const word = "panic: "
	if len(rest) <= len(word) {
		return strings.HasPrefix(word, rest)
	}
	return strings.HasPrefix(rest, word) && !strings.ContainsAny(rest[len(word):], " \t")
}

// sentinelPrefixLen returns the length of the longest end of data that is
// a proper beginning of sentinel.
func sentinelPrefixLen(data, sentinel []byte) int {
	for n := min(len(data), len(sentinel)-1); n > 0; n-- {
		if bytes.HasSuffix(data, sentinel[:n]) {
			return n
		}
	}
	return 0
}
