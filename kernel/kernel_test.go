package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/go-zeromq/zmq4"

	"atonce/install/installtest"
	"atonce/internal/enginemsg"
	"atonce/kernel/wire"
)

// fakeEngine runs cells of a tiny language of its own, one command a
// line, so the protocol rules can be tested with no interpreter. It keeps
// the engine contract the real engine keeps (enginecontract_test.go runs
// kernel/enginetest on both):
//
//	print TEXT   writes TEXT and a newline to stdout
//	stderr TEXT  writes TEXT and a newline to stderr
//	note TEXT    notes TEXT for the user: shows it on stderr, lists it in the reply
//	input        asks for a line, then prints "hello " and the line
//	value        ends with the value 42
//	fail [TEXT]  fails, as a panic with TEXT (default "boom")
//	block        runs until interrupted
type fakeEngine struct {
	mu       sync.Mutex
	executed []string           // the code of every execute request, in order
	cancel   context.CancelFunc // interrupts the running cell; nil when none runs
}

func newFakeEngine() *fakeEngine { return &fakeEngine{} }

// fakeWords are what the fake completes and documents: its commands.
var fakeWords = []string{"block", "fail", "input", "note", "print", "stderr", "value"}

func (f *fakeEngine) Request(ctx context.Context, req enginemsg.Request, out Output) (*enginemsg.Reply, error) {
	switch req.Kind {
	case enginemsg.KindExecute:
		return f.execute(ctx, req, out), nil
	case enginemsg.KindComplete:
		code := []rune(req.Code)
		start := req.Cursor
		for start > 0 && unicode.IsLetter(code[start-1]) {
			start--
		}
		rep := &enginemsg.Reply{CursorStart: start, CursorEnd: req.Cursor}
		for _, w := range fakeWords {
			if strings.HasPrefix(w, string(code[start:req.Cursor])) {
				rep.Matches = append(rep.Matches, w)
			}
		}
		return rep, nil
	case enginemsg.KindIsComplete:
		if strings.HasSuffix(req.Code, "{") {
			return &enginemsg.Reply{Status: "incomplete", Indent: "\t"}, nil
		}
		return &enginemsg.Reply{Status: "complete"}, nil
	case enginemsg.KindInspect:
		word := strings.TrimSpace(req.Code)
		if slices.Contains(fakeWords, word) {
			return &enginemsg.Reply{Found: true, Data: enginemsg.Bundle{"text/plain": word + ": a command of the fake engine"}}, nil
		}
		return &enginemsg.Reply{}, nil
	}
	return &enginemsg.Reply{Err: &enginemsg.Error{Name: "UnknownRequest", Value: req.Kind}}, nil
}

func (f *fakeEngine) execute(ctx context.Context, req enginemsg.Request, out Output) *enginemsg.Reply {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.mu.Lock()
	f.executed = append(f.executed, req.Code)
	f.cancel = cancel
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.cancel = nil
		f.mu.Unlock()
	}()
	stream := func(name, text string) {
		if !req.Silent {
			out.Event(enginemsg.Event{Kind: enginemsg.EventStream, Name: name, Text: text})
		}
	}
	rep := &enginemsg.Reply{}
	for _, line := range strings.Split(req.Code, "\n") {
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "print":
			stream("stdout", arg+"\n")
		case "stderr":
			stream("stderr", arg+"\n")
		case "note":
			stream("stderr", arg+"\n")
			rep.Notes = append(rep.Notes, arg)
		case "input":
			if !req.AllowStdin {
				return &enginemsg.Reply{Err: &enginemsg.Error{Name: "InputError", Value: "no input: allow_stdin is false"}}
			}
			v, err := out.Input(ctx, "name? ", false)
			if err != nil {
				return &enginemsg.Reply{Err: &enginemsg.Error{Name: "InputError", Value: err.Error()}}
			}
			stream("stdout", "hello "+v+"\n")
		case "value":
			rep.Result = enginemsg.Bundle{"text/plain": "42"}
		case "fail":
			if arg == "" {
				arg = "boom"
			}
			return &enginemsg.Reply{Err: &enginemsg.Error{Name: "panic", Value: arg, Traceback: []string{"panic: " + arg}}}
		case "block":
			<-ctx.Done()
			return &enginemsg.Reply{Err: &enginemsg.Error{Name: "Interrupted", Value: "interrupted"}, Interrupted: true}
		default:
			return &enginemsg.Reply{Err: &enginemsg.Error{Name: "SyntaxError", Value: fmt.Sprintf("the fake engine has no command %q", cmd)}}
		}
	}
	return rep
}

// Interrupt stops the running cell; with none running it does nothing.
func (f *fakeEngine) Interrupt() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
	}
	return nil
}

func (f *fakeEngine) Close() error { return nil }

var _ Engine = (*fakeEngine)(nil)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// client is a minimal Jupyter client over zmq4, for these tests.
type client struct {
	t                     *testing.T
	inbox                 map[zmq4.Socket]chan received
	signer                *wire.Signer
	shell, control, stdin zmq4.Socket
	iopub                 zmq4.Socket
	hb                    zmq4.Socket
	conn                  *wire.Connection
	k                     *Kernel // the kernel under test, to see its queue
}

func startKernel(t *testing.T, eng Engine) *client {
	t.Helper()
	conn := &wire.Connection{Transport: "tcp", IP: "127.0.0.1", ShellPort: freePort(t), IOPubPort: freePort(t),
		StdinPort: freePort(t), ControlPort: freePort(t), HBPort: freePort(t), SignatureScheme: "hmac-sha256", Key: "test-key"}
	k, err := New(Options{Connection: conn, Engine: eng, Info: Info{Implementation: "fake", LanguageInfo: map[string]any{"name": "go"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := k.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	signer, _ := wire.NewSigner(conn.SignatureScheme, conn.Key)
	c := &client{t: t, signer: signer, conn: conn, inbox: map[zmq4.Socket]chan received{}, k: k}
	id := zmq4.WithID(zmq4.SocketIdentity("test-client"))
	bg := context.Background()
	c.shell, c.control, c.stdin = zmq4.NewDealer(bg, id), zmq4.NewDealer(bg, id), zmq4.NewDealer(bg, id)
	c.iopub = zmq4.NewSub(bg)
	c.hb = zmq4.NewReq(bg)
	for _, s := range []struct {
		sock zmq4.Socket
		port int
	}{{c.shell, conn.ShellPort}, {c.control, conn.ControlPort}, {c.stdin, conn.StdinPort}, {c.iopub, conn.IOPubPort}, {c.hb, conn.HBPort}} {
		if err := dialRetry(s.sock, conn.Endpoint(s.port)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.sock.Close() })
	}
	if err := c.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin, c.iopub} {
		c.listen(s)
	}
	// Wait until iopub delivers (the slow-joiner problem of PUB/SUB).
	for i := 0; ; i++ {
		c.send(c.shell, "kernel_info_request", map[string]any{})
		c.recv(c.shell)
		if _, err := c.recvTimeout(c.iopub, 300*time.Millisecond); err == nil {
			c.drainIOPub(200 * time.Millisecond)
			return c
		}
		if i > 30 {
			t.Fatal("iopub never delivered a message")
		}
	}
}

func dialRetry(s zmq4.Socket, ep string) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = s.Dial(ep); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func (c *client) send(sock zmq4.Socket, msgType string, content any) *wire.Message {
	c.t.Helper()
	m, err := wire.NewMessage("client-session", msgType, nil, content)
	if err != nil {
		c.t.Fatal(err)
	}
	frames, err := c.signer.Encode(m)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := sock.Send(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// recv waits up to 5 s for a message on sock.
func (c *client) recv(sock zmq4.Socket) *wire.Message {
	c.t.Helper()
	m, err := c.recvTimeout(sock, 5*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

type received struct {
	m   *wire.Message
	err error
}

// listen starts the one goroutine that reads sock.
func (c *client) listen(sock zmq4.Socket) {
	ch := make(chan received, 1000)
	c.inbox[sock] = ch
	go func() {
		for {
			zm, err := sock.Recv()
			if err != nil {
				return
			}
			m, err := c.signer.Decode(zm.Frames)
			ch <- received{m, err}
		}
	}()
}

func (c *client) recvTimeout(sock zmq4.Socket, d time.Duration) (*wire.Message, error) {
	select {
	case r := <-c.inbox[sock]:
		return r.m, r.err
	case <-time.After(d):
		return nil, fmt.Errorf("no message within %v", d)
	}
}

func (c *client) drainIOPub(d time.Duration) {
	for {
		if _, err := c.recvTimeout(c.iopub, d); err != nil {
			return
		}
	}
}

// iopubUntilIdle collects iopub messages for parent until its idle status.
func (c *client) iopubUntilIdle(parent string) []*wire.Message {
	c.t.Helper()
	var out []*wire.Message
	for {
		m := c.recv(c.iopub)
		if m.ParentMsgID() != parent {
			continue
		}
		out = append(out, m)
		if m.Header.MsgType == "status" && content(c.t, m)["execution_state"] == "idle" {
			return out
		}
	}
}

func content(t *testing.T, m *wire.Message) map[string]any {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(m.Content, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func types(ms []*wire.Message) []string {
	var out []string
	for _, m := range ms {
		s := m.Header.MsgType
		if s == "status" {
			var c map[string]any
			_ = json.Unmarshal(m.Content, &c)
			s += ":" + fmt.Sprint(c["execution_state"])
		}
		out = append(out, s)
	}
	return out
}

func TestExecuteMessageSequence(t *testing.T) {
	c := startKernel(t, newFakeEngine())
	for _, tt := range []struct {
		name, code string
		wantIOPub  string
		wantStatus string
		wantCount  float64
	}{
		{"print", "print hi", "status:busy execute_input stream status:idle", "ok", 1},
		{"value", "value", "status:busy execute_input execute_result status:idle", "ok", 2},
		{"error", "fail", "status:busy execute_input error status:idle", "error", 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := c.send(c.shell, "execute_request", map[string]any{"code": tt.code, "silent": false, "store_history": true, "allow_stdin": false, "stop_on_error": true, "user_expressions": map[string]any{}})
			rep := c.recv(c.shell)
			if rep.Header.MsgType != "execute_reply" || rep.ParentMsgID() != req.Header.MsgID {
				t.Fatalf("reply got %s to %s, want execute_reply to %s", rep.Header.MsgType, rep.ParentMsgID(), req.Header.MsgID)
			}
			rc := content(t, rep)
			if rc["status"] != tt.wantStatus || rc["execution_count"] != tt.wantCount {
				t.Errorf("reply got status %v count %v, want %s %v", rc["status"], rc["execution_count"], tt.wantStatus, tt.wantCount)
			}
			if got := strings.Join(types(c.iopubUntilIdle(req.Header.MsgID)), " "); got != tt.wantIOPub {
				t.Errorf("iopub got %q, want %q", got, tt.wantIOPub)
			}
		})
	}
}

func TestControlRepliesOnControl(t *testing.T) {
	c := startKernel(t, newFakeEngine())
	req := c.send(c.control, "kernel_info_request", map[string]any{})
	rep := c.recv(c.control)
	if rep.Header.MsgType != "kernel_info_reply" || rep.ParentMsgID() != req.Header.MsgID {
		t.Fatalf("control reply got %s, want kernel_info_reply", rep.Header.MsgType)
	}
	if got := strings.Join(types(c.iopubUntilIdle(req.Header.MsgID)), " "); got != "status:busy status:idle" {
		t.Errorf("iopub got %q, want busy then idle", got)
	}
	// The control request is done (idle): anything it sent on shell came
	// before the reply to this one.
	probe := c.send(c.shell, "kernel_info_request", map[string]any{})
	if m := c.recv(c.shell); m.ParentMsgID() != probe.Header.MsgID {
		t.Errorf("shell got %s to %s first, want only the reply to the shell request: control requests are answered on control", m.Header.MsgType, m.ParentMsgID())
	}
}

func TestBadSignatureDropped(t *testing.T) {
	c := startKernel(t, newFakeEngine())
	m, _ := wire.NewMessage("client-session", "kernel_info_request", nil, map[string]any{})
	frames, _ := c.signer.Encode(m)
	frames[1] = []byte(strings.Repeat("0", 64)) // the signature frame (no identity on a dealer)
	if err := c.shell.Send(zmq4.NewMsgFrom(frames...)); err != nil {
		t.Fatal(err)
	}
	// Shell is answered in order: an answer to the bad message would come
	// before the reply to the good one.
	good := c.send(c.shell, "kernel_info_request", map[string]any{})
	if rep := c.recv(c.shell); rep.ParentMsgID() != good.Header.MsgID {
		t.Errorf("after a bad message, reply parent got %s, want %s", rep.ParentMsgID(), good.Header.MsgID)
	}
}

// execute sends an execute_request with stop_on_error set.
func (c *client) execute(code string, silent bool) *wire.Message {
	c.t.Helper()
	return c.send(c.shell, "execute_request", map[string]any{"code": code, "silent": silent, "store_history": true, "allow_stdin": false, "stop_on_error": true})
}

// waitQueued returns once n shell messages wait in the kernel's queue,
// behind the one it is handling.
func (c *client) waitQueued(n int) {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.k.queue.mu.Lock()
		got := len(c.k.queue.items)
		c.k.queue.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the kernel's queue got %d messages, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStarted returns once the fake engine runs an execute request for code.
func (f *fakeEngine) waitStarted(t *testing.T, code string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		f.mu.Lock()
		running := f.cancel != nil && len(f.executed) > 0 && f.executed[len(f.executed)-1] == code
		f.mu.Unlock()
		if running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the engine never started %q", code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fakeEngine) ran() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.executed...)
}

// failBehind runs a cell that blocks (silent or not), sends the requests
// queue sends and returns how many, and once those wait in the kernel's
// queue makes the cell fail, as an interrupted cell does.
func (c *client) failBehind(eng *fakeEngine, silent bool, queue func() int) *wire.Message {
	c.t.Helper()
	first := c.execute("block", silent)
	eng.waitStarted(c.t, "block")
	c.waitQueued(queue())
	if err := eng.Interrupt(); err != nil {
		c.t.Fatal(err)
	}
	return first
}

func TestStopOnErrorAbortsQueue(t *testing.T) {
	eng := newFakeEngine()
	c := startKernel(t, eng)
	var second, third, info *wire.Message
	first := c.failBehind(eng, false, func() int {
		second = c.execute("print a", false)
		third = c.execute("print b", false)
		info = c.send(c.shell, "kernel_info_request", map[string]any{})
		return 3
	})

	name := map[string]string{first.Header.MsgID: "first", second.Header.MsgID: "second", third.Header.MsgID: "third", info.Header.MsgID: "info"}
	var replies []string
	for range 4 {
		rep := c.recv(c.shell)
		cc := content(t, rep)
		replies = append(replies, fmt.Sprint(name[rep.ParentMsgID()], ":", cc["status"], "/", cc["ename"]))
	}
	want := "first:error/Interrupted second:error/ExecutionAborted third:error/ExecutionAborted info:ok/<nil>"
	if got := strings.Join(replies, " "); got != want {
		t.Errorf("replies got %q, want %q", got, want)
	}

	// The failed cell's idle comes before the aborted requests' busy.
	var statuses []string
	for {
		m := c.recv(c.iopub)
		who, ok := name[m.ParentMsgID()]
		if !ok {
			continue
		}
		statuses = append(statuses, who+":"+types([]*wire.Message{m})[0])
		if who == "info" && strings.HasSuffix(statuses[len(statuses)-1], "idle") {
			break
		}
	}
	wantIOPub := "first:status:busy first:execute_input first:error first:status:idle " +
		"second:status:busy second:status:idle third:status:busy third:status:idle info:status:busy info:status:idle"
	if got := strings.Join(statuses, " "); got != wantIOPub {
		t.Errorf("iopub got %q, want %q", got, wantIOPub)
	}
	if got := eng.ran(); !slices.Equal(got, []string{"block"}) {
		t.Errorf("engine ran %q, want only the first cell", got)
	}
}

// TestSilentFailureKeepsQueue checks that a failing silent request (a
// frontend's own probe) aborts nothing, as in ipykernel.
func TestSilentFailureKeepsQueue(t *testing.T) {
	eng := newFakeEngine()
	c := startKernel(t, eng)
	var cell *wire.Message
	probe := c.failBehind(eng, true, func() int {
		cell = c.execute("print ran", false)
		return 1
	})
	for _, tt := range []struct {
		req        *wire.Message
		wantStatus string
	}{{probe, "error"}, {cell, "ok"}} {
		rep := c.recv(c.shell)
		if got := content(t, rep)["status"]; rep.ParentMsgID() != tt.req.Header.MsgID || got != tt.wantStatus {
			t.Errorf("reply got %v to %s, want %s to %s", got, rep.ParentMsgID(), tt.wantStatus, tt.req.Header.MsgID)
		}
	}
	if got := eng.ran(); !slices.Equal(got, []string{"block", "print ran"}) {
		t.Errorf("engine ran %q, want both cells", got)
	}
}

func TestInput(t *testing.T) {
	c := startKernel(t, newFakeEngine())
	req := c.send(c.shell, "execute_request", map[string]any{"code": "input", "allow_stdin": true, "store_history": true})
	in := c.recv(c.stdin)
	if in.Header.MsgType != "input_request" || content(t, in)["prompt"] != "name? " {
		t.Fatalf("stdin got %s %v, want input_request with the prompt", in.Header.MsgType, content(t, in))
	}
	c.send(c.stdin, "input_reply", map[string]any{"value": "gopher"})
	if rep := c.recv(c.shell); content(t, rep)["status"] != "ok" {
		t.Fatalf("reply got %v, want ok", content(t, rep))
	}
	var text string
	for _, m := range c.iopubUntilIdle(req.Header.MsgID) {
		if m.Header.MsgType == "stream" {
			text += fmt.Sprint(content(t, m)["text"])
		}
	}
	if text != "hello gopher\n" {
		t.Errorf("stream got %q, want %q", text, "hello gopher\n")
	}

	c.send(c.shell, "execute_request", map[string]any{"code": "input", "allow_stdin": false, "store_history": true})
	rep := content(t, c.recv(c.shell))
	if rep["status"] != "error" || !strings.Contains(fmt.Sprint(rep["evalue"]), "allow_stdin is false") {
		t.Errorf("reply with allow_stdin false got %v, want an error naming allow_stdin", rep)
	}
}

func TestHeartbeatAndUnknown(t *testing.T) {
	c := startKernel(t, newFakeEngine())
	if err := c.hb.Send(zmq4.NewMsgString("ping")); err != nil {
		t.Fatal(err)
	}
	got, err := c.hb.Recv()
	if err != nil || string(got.Bytes()) != "ping" {
		t.Fatalf("heartbeat got %q, %v; want ping", got.Bytes(), err)
	}
	unk := c.send(c.shell, "no_such_request", map[string]any{})
	if got := strings.Join(types(c.iopubUntilIdle(unk.Header.MsgID)), " "); got != "status:busy status:idle" {
		t.Errorf("unknown type iopub got %q, want busy idle", got)
	}
	c.send(c.shell, "complete_request", map[string]any{"code": "fail\nva", "cursor_pos": 7})
	rep := content(t, c.recv(c.shell))
	if rep["status"] != "ok" || rep["cursor_start"] != float64(5) || fmt.Sprint(rep["matches"]) != "[value]" {
		t.Errorf("complete_reply got %v, want the engine's matches", rep)
	}
}

// historyEntries is the history TestHistory and
// TestHistorySearchAgreesWithIPython query: lines 1 to 6, with the text
// result "3" on line 3.
var historyEntries = []string{"a = 1", "b = 2", "a + b", "a = 1", "6 * 7", "x := 6*7"}

func newTestHistory() *history {
	var h history
	three := "3"
	for i, in := range historyEntries {
		var out *string
		if i+1 == 3 {
			out = &three
		}
		h.add(i+1, in, out)
	}
	return &h
}

func ptr[T any](v T) *T { return &v }

// historySearches are search requests whose answers were taken from
// IPython's HistoryAccessor.search on the same cells (see
// TestHistorySearchAgreesWithIPython).
var historySearches = []struct {
	name string
	req  historyRequest
	want string
}{
	{"prefix", historyRequest{Pattern: ptr("a*")}, "[[1 1 a = 1] [1 3 a + b] [1 4 a = 1]]"},
	{"star after a literal star", historyRequest{Pattern: ptr("6 *")}, "[[1 5 6 * 7]]"},
	{"whole string, not a substring", historyRequest{Pattern: ptr("6*7")}, "[[1 5 6 * 7]]"},
	{"leading star", historyRequest{Pattern: ptr("*6*7")}, "[[1 5 6 * 7] [1 6 x := 6*7]]"},
	{"question mark and output", historyRequest{Pattern: ptr("a ?*"), Output: true}, "[[1 1 [a = 1 <nil>]] [1 3 [a + b 3]] [1 4 [a = 1 <nil>]]]"},
	{"set", historyRequest{Pattern: ptr("[ab] = 1"), Unique: true}, "[[1 4 a = 1]]"},
	{"unique keeps the latest line", historyRequest{Pattern: ptr("a*"), Unique: true}, "[[1 3 a + b] [1 4 a = 1]]"},
	{"n keeps the newest", historyRequest{Pattern: ptr("*=*"), N: ptr(2)}, "[[1 4 a = 1] [1 6 x := 6*7]]"},
	{"n one", historyRequest{Pattern: ptr("*"), N: ptr(1)}, "[[1 6 x := 6*7]]"},
	{"n zero", historyRequest{Pattern: ptr("*"), N: ptr(0)}, "[]"},
	{"n negative is no limit", historyRequest{Pattern: ptr("*"), N: ptr(-1)}, "[[1 1 a = 1] [1 2 b = 2] [1 3 a + b] [1 4 a = 1] [1 5 6 * 7] [1 6 x := 6*7]]"},
	{"unique and n", historyRequest{Pattern: ptr("*"), Unique: true, N: ptr(2)}, "[[1 5 6 * 7] [1 6 x := 6*7]]"},
	{"empty pattern", historyRequest{Pattern: ptr("")}, "[]"},
	{"no pattern", historyRequest{}, "[]"},
}

func formatHistory(rows [][]any) string {
	var parts []string
	for _, e := range rows {
		if io, ok := e[2].([]any); ok {
			parts = append(parts, fmt.Sprintf("[%v %v [%v %v]]", e[0], e[1], io[0], io[1]))
		} else {
			parts = append(parts, fmt.Sprintf("[%v %v %v]", e[0], e[1], e[2]))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestHistory(t *testing.T) {
	type historyCase = struct {
		name string
		req  historyRequest
		want string
	}
	cases := []historyCase{
		{"tail", historyRequest{HistAccessType: "tail", N: ptr(2)}, "[[1 5 6 * 7] [1 6 x := 6*7]]"},
		{"range", historyRequest{HistAccessType: "range", Session: 1, Start: 1, Stop: 2}, "[[1 1 a = 1]]"},
		{"range output", historyRequest{HistAccessType: "range", Start: 3, Stop: 4, Output: true}, "[[1 3 [a + b 3]]]"},
		{"other session", historyRequest{HistAccessType: "range", Session: 7, Start: 1}, "[]"},
	}
	for _, tt := range historySearches {
		tt.req.HistAccessType = "search"
		cases = append(cases, historyCase{"search " + tt.name, tt.req, tt.want})
	}
	h := newTestHistory()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatHistory(h.query(tt.req)); got != tt.want {
				t.Errorf("query got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestHistorySearchAgreesWithIPython asks IPython's own HistoryAccessor,
// over an SQLite history holding the same cells, every search of
// historySearches, and compares its answers with the kernel's.
func TestHistorySearchAgreesWithIPython(t *testing.T) {
	py := installtest.ExecPython
	if out, err := exec.Command(py, "-c", "import IPython.core.history").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import IPython (apt-get install python3-ipykernel): %v: %s", py, err, out)
	}
	type query struct {
		Pattern *string `json:"pattern"`
		N       *int    `json:"n"`
		Unique  bool    `json:"unique"`
		Output  bool    `json:"output"`
	}
	in := map[string]any{"cells": historyEntries, "outputs": map[string]string{"3": "3"}}
	var queries []query
	for _, tt := range historySearches {
		queries = append(queries, query{tt.req.Pattern, tt.req.N, tt.req.Unique, tt.req.Output})
	}
	in["queries"] = queries
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/ipython_history.py")
	cmd.Stdin = strings.NewReader(string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testdata/ipython_history.py: %v", err)
	}
	var answers [][][]any
	if err := json.Unmarshal(out, &answers); err != nil {
		t.Fatalf("IPython's answers %q: %v", out, err)
	}
	if len(answers) != len(historySearches) {
		t.Fatalf("IPython answered %d searches, want %d", len(answers), len(historySearches))
	}
	h := newTestHistory()
	for i, tt := range historySearches {
		req := tt.req
		req.HistAccessType = "search"
		// JSON numbers come back as float64; format both sides alike.
		if got, want := formatHistory(h.query(req)), formatHistory(answers[i]); got != want {
			t.Errorf("%s: kernel got %s, IPython %s", tt.name, got, want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	// Each answer is SQLite's: SELECT s GLOB pattern.
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"6 *", "6 * 7", true},
		{"6 *", "x = 6 * 7", false},
		{"*6 *", "x = 6 * 7", true},
		{"6*7", "6*7", true},
		{"6*7", "6 * 7", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true},
		{"[*]*", "* star", true},
		{"[*]*", "star", false},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[^a-c]x", "dx", true},
		{"[^a-c]x", "bx", false},
		{"[]]", "]", true},
		{"[]a]", "a", true},
		{"[^]]", "]", false},
		{"[^]]", "a", true},
		{"[a-]", "-", true},
		{"[-a]", "-", true},
		{"[z-a]", "m", false},
		{"[a", "a", false},
		{"a[", "a[", false},
		{"*", "line1\nline2", true},
		{"line1*", "line1\nline2", true},
		{"A*", "a = 1", false},
		{"", "", true},
		{"", "x", false},
		{"**a", "a", true},
		{"*[0-9]", "x1", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
	} {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) got %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
