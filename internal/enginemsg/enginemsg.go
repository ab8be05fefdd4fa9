// Package enginemsg defines the messages the kernel and its engine process
// exchange, and the codec that carries them.
//
// The kernel speaks Jupyter; the engine runs Go. Between them run two pipes
// that are not the engine's stdout and stderr: the kernel writes Requests
// to one (fd 3 in the engine) and reads Events from the other (fd 4). Each
// message is one line of JSON. This package imports neither side, so both
// the kernel (which must not link the interpreter) and the engine (which
// must not link ZeroMQ) can use it.
package enginemsg

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"atonce/internal/cellpath"
)

// Request kinds, sent by the kernel.
const (
	KindExecute    = "execute"     // run Request.Code
	KindComplete   = "complete"    // completions at Request.Cursor
	KindInspect    = "inspect"     // documentation at Request.Cursor
	KindIsComplete = "is_complete" // is Request.Code a whole cell?
	KindReplay     = "replay"      // run Request.Cells silently, to rebuild state
	KindInterrupt  = "interrupt"   // cancel the running execute or replay
	KindInputReply = "input_reply" // the user's answer to an input_request event
	// KindDebug carries a Debug Adapter Protocol request (Request.Debug)
	// of Jupyter's debugger; the reply's Debug is its response. The
	// engine answers it at once, also while a request runs or is stopped
	// at a breakpoint.
	KindDebug = "debug"
)

// Event kinds, sent by the engine.
const (
	EventReady         = "ready"          // the engine is up; Event.Text holds its version
	EventStream        = "stream"         // output: Event.Name is "stdout" or "stderr"
	EventDisplay       = "display"        // a display_data bundle
	EventUpdateDisplay = "update_display" // replace the bundle shown under Event.DisplayID
	EventClearOutput   = "clear_output"   // clear the cell's output; Event.Wait as in Jupyter
	EventInputRequest  = "input_request"  // the cell reads stdin: ask the user Event.Text
	EventReply         = "reply"          // the final answer to the request Event.ID
	// EventCheckpoint saves Event.Checkpoint for the running request: if
	// the engine dies before replying, the supervisor starts a new one and
	// sends the request again with Request.Resume holding it.
	EventCheckpoint = "checkpoint"
	// EventDebug is a Debug Adapter Protocol event of the debugger
	// (Event.Debug): a goroutine stopped, went on, started or ended.
	EventDebug = "debug"
)

// Request is one message from the kernel to the engine.
type Request struct {
	ID         uint64   `json:"id"`
	Kind       string   `json:"kind"`
	Code       string   `json:"code,omitempty"`
	Cursor     int      `json:"cursor,omitempty"`      // in Unicode code points, as Jupyter counts
	Detail     int      `json:"detail,omitempty"`      // inspect detail level, 0 or 1
	Silent     bool     `json:"silent,omitempty"`      // publish no output
	AllowStdin bool     `json:"allow_stdin,omitempty"` // the client can answer input requests
	Cells      []string `json:"cells,omitempty"`       // for replay
	Input      string   `json:"input,omitempty"`       // for input_reply
	// InputError is set on an input_reply when no answer can come (for
	// example the client does not allow stdin).
	InputError string `json:"input_error,omitempty"`
	// UserExpressions maps names to expressions evaluated after the cell.
	UserExpressions map[string]string `json:"user_expressions,omitempty"`
	// Resume is set when the request is sent again because the engine
	// died while running it after a checkpoint.
	Resume *Resume `json:"resume,omitempty"`
	// Aside asks the engine to answer at once, alongside the running
	// request: completion, inspection and is_complete while a cell is
	// stopped at a breakpoint. Debug requests are always aside.
	Aside bool `json:"aside,omitempty"`
	// Debug is the Debug Adapter Protocol request of a KindDebug.
	Debug json.RawMessage `json:"debug,omitempty"`
}

// Resume tells a re-sent request where its first attempt got to.
type Resume struct {
	Checkpoint json.RawMessage `json:"checkpoint"` // the last checkpoint the engine sent
	Crash      string          `json:"crash"`      // what killed the engine, in one line
}

// Bundle is a MIME bundle: MIME type to data. Text types hold strings,
// JSON types hold any JSON value.
type Bundle map[string]any

// Event is one message from the engine to the kernel. ID names the request
// it belongs to; 0 means output from code no request is waiting for (a
// goroutine left running by an earlier cell).
type Event struct {
	ID        uint64         `json:"id"`
	Kind      string         `json:"kind"`
	Name      string         `json:"name,omitempty"` // stream name
	Text      string         `json:"text,omitempty"` // stream text, input prompt, version
	Data      Bundle         `json:"data,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	DisplayID string         `json:"display_id,omitempty"`
	Wait      bool           `json:"wait,omitempty"`     // clear_output
	Password  bool           `json:"password,omitempty"` // input_request
	Reply     *Reply         `json:"reply,omitempty"`
	// Checkpoint is the state an EventCheckpoint saves.
	Checkpoint json.RawMessage `json:"checkpoint,omitempty"`
	// Debug is the Debug Adapter Protocol event of an EventDebug.
	Debug json.RawMessage `json:"debug,omitempty"`
}

// Reply is the engine's answer to a request. Which fields are set depends
// on the request's kind.
type Reply struct {
	// Err is set when the request failed: a compile error, a panic, an
	// interrupt. It is the user's error, reported in the cell.
	Err *Error `json:"error,omitempty"`

	// Execute.
	Result          Bundle         `json:"result,omitempty"` // the final expression's value, if any
	ResultMetadata  map[string]any `json:"result_metadata,omitempty"`
	UserExpressions map[string]any `json:"user_expressions,omitempty"`
	// Interrupted tells that the request was cancelled by an interrupt.
	Interrupted bool `json:"interrupted,omitempty"`
	// Stuck tells that after an interrupt some of the cell's code would not
	// stop (a host call blocked for good): the engine should be replaced.
	Stuck bool `json:"stuck,omitempty"`
	// Payload holds execute_reply payloads (for example a pager page).
	Payload []map[string]any `json:"payload,omitempty"`
	// Notes are one-line messages for the user about what the engine did
	// on the cell's behalf (an import added, state rebuilt). The engine
	// has already shown each on stderr before the reply; the kernel does
	// not show them again. The supervisor shows a replay's notes, which
	// no cell's output carried.
	Notes []string `json:"notes,omitempty"`

	// Reset tells that the notebook's state was thrown away (%reset):
	// earlier cells must no longer be replayed after a crash.
	Reset bool `json:"reset,omitempty"`

	// Replay: how many cells ran again and how many failed.
	Replayed int `json:"replayed,omitempty"`

	// Complete.
	Matches     []string       `json:"matches,omitempty"`
	CursorStart int            `json:"cursor_start,omitempty"`
	CursorEnd   int            `json:"cursor_end,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`

	// Inspect.
	Found bool   `json:"found,omitempty"`
	Data  Bundle `json:"data,omitempty"`

	// IsComplete: "complete", "incomplete", "invalid" or "unknown".
	Status string `json:"status,omitempty"`
	Indent string `json:"indent,omitempty"`

	// Debug: the Debug Adapter Protocol response.
	Debug json.RawMessage `json:"debug,omitempty"`
}

// Error is an error the user sees in the cell: Jupyter's ename, evalue and
// traceback.
type Error struct {
	Name      string   `json:"ename"`
	Value     string   `json:"evalue"`
	Traceback []string `json:"traceback"`
}

// Error implements error.
func (e *Error) Error() string { return e.Name + ": " + e.Value }

// The debugger's messages: Debug Adapter Protocol requests, responses
// and events (https://microsoft.github.io/debug-adapter-protocol/), which
// KindDebug requests, their replies and EventDebug events carry as JSON.
// The kernel answers some requests itself and passes the others on.

// DebugRequest is a DAP request.
type DebugRequest struct {
	Seq       int             `json:"seq"`
	Type      string          `json:"type"` // "request"
	Command   string          `json:"command"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// DebugResponse is a DAP response.
type DebugResponse struct {
	Seq        int    `json:"seq"`
	Type       string `json:"type"` // "response"
	RequestSeq int    `json:"request_seq"`
	Success    bool   `json:"success"`
	Command    string `json:"command"`
	Message    string `json:"message,omitempty"` // why it failed
	Body       any    `json:"body"`
}

// DebugEvent is a DAP event.
type DebugEvent struct {
	Seq   int    `json:"seq"`
	Type  string `json:"type"` // "event"
	Event string `json:"event"`
	Body  any    `json:"body"`
}

// DebugAttach are the arguments of attach as the engine gets them: DAP
// leaves them to the debugger, and the kernel adds how it names cells.
type DebugAttach struct {
	// Cells names the cells' sources, as the kernel's debugInfo
	// announces it to the frontend.
	Cells cellpath.Naming `json:"atonceCells"`
}

// DebugNotAttached is the message of the engine's response to a request
// that needs a debugging session when it has none (a new engine).
const DebugNotAttached = "the debugger is not attached"

// Encoder writes messages as JSON lines. It is safe for concurrent use.
type Encoder struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: bufio.NewWriterSize(w, 64<<10)}
}

// Encode writes v as one line and flushes it.
func (e *Encoder) Encode(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("enginemsg: encoding %T: %w", v, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("enginemsg: writing: %w", err)
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("enginemsg: writing: %w", err)
	}
	return nil
}

// MaxLine is the largest message a Decoder accepts (a PNG in a display
// bundle can be large).
const MaxLine = 256 << 20

// Decoder reads JSON-line messages.
type Decoder struct {
	s *bufio.Scanner
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), MaxLine)
	return &Decoder{s: s}
}

// Decode reads the next message into v. It returns io.EOF when the pipe is
// closed.
func (d *Decoder) Decode(v any) error {
	if !d.s.Scan() {
		if err := d.s.Err(); err != nil {
			return fmt.Errorf("enginemsg: reading: %w", err)
		}
		return io.EOF
	}
	if err := json.Unmarshal(d.s.Bytes(), v); err != nil {
		return fmt.Errorf("enginemsg: decoding %q: %w", truncate(d.s.Bytes()), err)
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
