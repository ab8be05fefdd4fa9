package native

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"atonce/models/workermsg"
)

// syncMark starts the mark the relay's Sync writes into the output pipe:
// syncMark, a number, then a NUL. Output a task prints never holds it.
const syncMark = "\x00atonce-sync-"

// syncWait bounds how long Sync waits for the relay to pass its mark: a
// relay that cannot send any more (the engine is gone) must not hang
// the worker.
const syncWait = 2 * time.Second

// relay passes what the program writes to its standard output (the
// tasks' prints) to the engine as workermsg.Output, as the interpreter's
// worker passes what interpreted tasks print. Sync makes sure everything
// written before it has been passed on, so that a task's output reaches
// the engine before its result.
type relay struct {
	send func(workermsg.Output)
	done chan struct{} // closed when the reader ended

	mu      sync.Mutex
	next    int
	waiting map[int]chan struct{}
	w       *os.File // the pipe's write end, which is also fd 1
}

// relayStdout makes the process's fd 1 the write end of a pipe whose
// read end a goroutine relays to send, and returns the relay; nil and an
// error where fd 1 cannot be replaced.
func relayStdout(send func(workermsg.Output)) (*relay, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("making the output pipe: %w", err)
	}
	if err := redirectStdout(w); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("redirecting standard output: %w", err)
	}
	rl := &relay{send: send, done: make(chan struct{}), waiting: map[int]chan struct{}{}, w: w}
	go rl.read(r)
	return rl, nil
}

// Sync returns once what was written to fd 1 before it has been sent, or
// after syncWait.
func (rl *relay) Sync() {
	rl.mu.Lock()
	n := rl.next
	rl.next++
	ch := make(chan struct{})
	rl.waiting[n] = ch
	rl.mu.Unlock()
	if _, err := os.Stdout.WriteString(syncMark + strconv.Itoa(n) + "\x00"); err != nil {
		rl.forget(n)
		return
	}
	t := time.NewTimer(syncWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-rl.done:
	case <-t.C:
	}
	rl.forget(n)
}

func (rl *relay) forget(n int) {
	rl.mu.Lock()
	delete(rl.waiting, n)
	rl.mu.Unlock()
}

// Close closes the pipe's write ends (fd 1 and the relay's own) and waits
// for the reader to pass on what is left.
func (rl *relay) Close() {
	os.Stdout.Close()
	rl.w.Close()
	<-rl.done
}

// read passes what arrives on r to send, taking the marks out and
// waking their Sync.
func (rl *relay) read(r *os.File) {
	defer close(rl.done)
	defer r.Close()
	var pending []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		pending = rl.pass(append(pending, buf[:n]...))
		if err != nil {
			if len(pending) > 0 && err == io.EOF {
				rl.send(workermsg.Output{Stream: "stdout", Text: string(pending)})
			}
			return
		}
	}
}

// pass sends b's text and handles its marks; it returns what must wait
// for more bytes (a mark, or what may be the start of one, cut short).
func (rl *relay) pass(b []byte) []byte {
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			// A character cut short waits for its other bytes: text
			// crosses as JSON strings, which would garble its halves.
			keep := incompleteRune(b)
			rl.text(b[:len(b)-keep])
			return b[len(b)-keep:]
		}
		rl.text(b[:i])
		b = b[i:]
		if len(b) < len(syncMark) && bytes.HasPrefix([]byte(syncMark), b) {
			return b // perhaps a mark, cut short
		}
		if !bytes.HasPrefix(b, []byte(syncMark)) {
			rl.text(b[:1]) // a NUL of the task's own
			b = b[1:]
			continue
		}
		end := bytes.IndexByte(b[len(syncMark):], 0)
		if end < 0 {
			return b // the mark's number is cut short
		}
		num := b[len(syncMark) : len(syncMark)+end]
		if n, err := strconv.Atoi(string(num)); err == nil {
			rl.mu.Lock()
			if ch, ok := rl.waiting[n]; ok {
				close(ch)
				delete(rl.waiting, n)
			}
			rl.mu.Unlock()
		}
		b = b[len(syncMark)+end+1:]
	}
	return nil
}

// incompleteRune returns how many bytes at b's end start a UTF-8
// character that is cut short, 0 if none.
func incompleteRune(b []byte) int {
	for k := 1; k <= min(len(b), utf8.UTFMax-1); k++ {
		c := b[len(b)-k]
		if utf8.RuneStart(c) {
			if c >= utf8.RuneSelf && !utf8.FullRune(b[len(b)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}

func (rl *relay) text(b []byte) {
	if len(b) > 0 {
		rl.send(workermsg.Output{Stream: "stdout", Text: string(b)})
	}
}
