package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"atonce/internal/cellpath"
	"atonce/internal/enginemsg"
	"atonce/kernel/wire"
)

// Jupyter's debugger (messaging spec 5.5, "Debug request"): debug_request
// messages on the control channel carry Debug Adapter Protocol requests,
// answered by debug_reply; the debugger's events go out as debug_event on
// iopub. The kernel answers what is about Jupyter (initialize, debugInfo,
// dumpCell, source, modules, configurationDone) and passes the rest to
// the engine (Debugger.Aside), which debugs the Go code. It names each
// cell's source as JupyterLab does (package cellpath): the frontend
// computes a cell's path from its text, so breakpoints set in the editor
// and frames the engine reports meet without the kernel being asked.

// debugState is what the kernel keeps of a debugging session.
type debugState struct {
	mu          sync.Mutex
	started     bool                       // initialize was answered
	attached    bool                       // the engine was attached
	breakpoints map[string]json.RawMessage // source path to breakpoints as last set, for debugInfo
	stopped     map[int]bool               // goroutines the engine reported stopped
	seq         int                        // of the kernel's own responses
	dir         string                     // where dumped cells go; made on first use
	madeDir     bool                       // the kernel made dir (and removes it)
	parent      *wire.Message              // the last debug_request, parent of events
}

// naming is how the kernel names cells' sources: tmpFilePrefix, hash,
// tmpFileSuffix.
func (k *Kernel) naming() cellpath.Naming {
	return cellpath.Naming{Prefix: k.dbgState.dir + string(filepath.Separator), Suffix: cellpath.Suffix, Seed: cellpath.Seed}
}

// debugRequest handles debug_request.
func (k *Kernel) debugRequest(ctx context.Context, ch *channel, m *wire.Message) {
	var req enginemsg.DebugRequest
	if err := m.DecodeContent(&req); err != nil || req.Command == "" {
		k.reply(ch, m, "debug_reply", k.dapReply(req, nil, fmt.Errorf("the debug request is malformed: %v", err)))
		return
	}
	k.dbgState.mu.Lock()
	k.dbgState.parent = m
	k.dbgState.mu.Unlock()
	k.reply(ch, m, "debug_reply", k.debugHandle(ctx, req))
}

// debugHandle answers one request, in the kernel or through the engine.
func (k *Kernel) debugHandle(ctx context.Context, req enginemsg.DebugRequest) json.RawMessage {
	st := &k.dbgState
	if k.dbg == nil {
		return k.dapReply(req, nil, errors.New("this kernel's engine has no debugger"))
	}
	switch req.Command {
	case "initialize":
		st.mu.Lock()
		st.started = true
		st.mu.Unlock()
		return k.dapReply(req, map[string]any{
			"supportsConfigurationDoneRequest": true,
			"supportsEvaluateForHovers":        true,
			"supportsDelayedStackTraceLoading": false,
			"supportsConditionalBreakpoints":   false,
			"supportsSetVariable":              false,
			"supportsStepBack":                 false,
			"exceptionBreakpointFilters":       []any{},
		}, nil)
	case "debugInfo":
		return k.dapReply(req, k.debugInfo(), nil)
	case "dumpCell":
		path, err := k.dumpCell(req.Arguments)
		if err != nil {
			return k.dapReply(req, nil, err)
		}
		return k.dapReply(req, map[string]any{"sourcePath": path}, nil)
	case "source":
		content, err := k.source(req.Arguments)
		if err != nil {
			return k.dapReply(req, map[string]any{}, err)
		}
		return k.dapReply(req, map[string]any{"content": content}, nil)
	case "modules":
		return k.dapReply(req, map[string]any{"modules": []any{}, "totalModules": 0}, nil)
	case "configurationDone":
		return k.dapReply(req, nil, nil)
	case "attach":
		resp := k.attach(ctx, req)
		return resp
	case "disconnect":
		resp := k.forward(ctx, req)
		st.mu.Lock()
		st.started, st.attached = false, false
		st.breakpoints = map[string]json.RawMessage{}
		st.stopped = map[int]bool{}
		st.mu.Unlock()
		return resp
	case "setBreakpoints":
		var args struct {
			Source struct {
				Path string `json:"path"`
			} `json:"source"`
			Breakpoints json.RawMessage `json:"breakpoints"`
		}
		if err := json.Unmarshal(req.Arguments, &args); err != nil || args.Source.Path == "" {
			return k.dapReply(req, nil, errors.New("setBreakpoints needs a source path"))
		}
		st.mu.Lock()
		if b := args.Breakpoints; len(b) == 0 || string(b) == "[]" || string(b) == "null" {
			delete(st.breakpoints, args.Source.Path)
		} else {
			st.breakpoints[args.Source.Path] = b
		}
		st.mu.Unlock()
	}
	return k.forward(ctx, req)
}

// attach attaches the engine, telling it how cells are named.
func (k *Kernel) attach(ctx context.Context, req enginemsg.DebugRequest) json.RawMessage {
	args := map[string]any{}
	if len(req.Arguments) > 0 {
		_ = json.Unmarshal(req.Arguments, &args)
	}
	// The frontend's own arguments, and how the kernel names cells.
	cells, _ := json.Marshal(enginemsg.DebugAttach{Cells: k.naming()})
	_ = json.Unmarshal(cells, &args)
	raw, err := json.Marshal(args)
	if err != nil {
		return k.dapReply(req, nil, err)
	}
	req.Arguments = raw
	resp := k.send(ctx, req)
	if ok, _ := responseOK(resp); ok {
		k.dbgState.mu.Lock()
		k.dbgState.attached, k.dbgState.started = true, true
		k.dbgState.mu.Unlock()
	}
	return resp
}

// forward passes a request to the engine. A new engine (the last one
// died) is not attached: the kernel attaches it again, with the
// breakpoints, and asks once more.
func (k *Kernel) forward(ctx context.Context, req enginemsg.DebugRequest) json.RawMessage {
	resp := k.send(ctx, req)
	if _, msg := responseOK(resp); msg != enginemsg.DebugNotAttached || req.Command == "attach" || req.Command == "disconnect" {
		return resp
	}
	if !k.debugReattach(ctx) {
		return resp
	}
	return k.send(ctx, req)
}

// EngineStarted tells the kernel that an engine started. One that
// replaces another knows nothing of the debugging session: the kernel
// sends it again (attach, breakpoints) at once, before the notebook's
// cells are replayed into it and before any cell runs, so that the new
// engine stops at the breakpoints too. The supervisor calls it before it
// sends the new engine anything else.
func (k *Kernel) EngineStarted() {
	if k.dbg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), reattachTimeout)
	defer cancel()
	k.debugReattach(ctx)
}

// reattachTimeout bounds sending the debugging session to a new engine.
const reattachTimeout = 10 * time.Second

// debugReattach attaches the engine again, with the breakpoints, and
// tells whether it worked.
func (k *Kernel) debugReattach(ctx context.Context) bool {
	st := &k.dbgState
	st.mu.Lock()
	attached := st.attached
	bps := make(map[string]json.RawMessage, len(st.breakpoints))
	for p, b := range st.breakpoints {
		bps[p] = b
	}
	st.stopped = map[int]bool{}
	st.mu.Unlock()
	if !attached {
		return false
	}
	k.log.Info("the engine is new: sending it the debugging session again")
	if ok, _ := responseOK(k.attach(ctx, enginemsg.DebugRequest{Type: "request", Command: "attach"})); !ok {
		return false
	}
	for _, path := range slices.Sorted(maps.Keys(bps)) {
		args, _ := json.Marshal(map[string]any{"source": map[string]any{"path": path}, "breakpoints": bps[path]})
		k.send(ctx, enginemsg.DebugRequest{Type: "request", Command: "setBreakpoints", Arguments: args})
	}
	return true
}

// send passes a request to the engine and returns its response.
func (k *Kernel) send(ctx context.Context, req enginemsg.DebugRequest) json.RawMessage {
	raw, err := json.Marshal(req)
	if err != nil {
		return k.dapReply(req, nil, err)
	}
	rep, err := k.dbg.Aside(ctx, enginemsg.Request{Kind: enginemsg.KindDebug, Debug: raw})
	if err != nil {
		return k.dapReply(req, nil, fmt.Errorf("the debugger could not be reached: %w", err))
	}
	if rep.Err != nil {
		return k.dapReply(req, nil, rep.Err)
	}
	if len(rep.Debug) == 0 {
		return k.dapReply(req, nil, errors.New("the engine gave no answer to the debug request"))
	}
	return k.resequence(rep.Debug)
}

// resequence gives a message from the engine the kernel's next sequence
// number: DAP numbers each side's messages in one sequence, and the
// kernel answers some requests itself.
func (k *Kernel) resequence(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	st := &k.dbgState
	st.mu.Lock()
	st.seq++
	m["seq"] = json.RawMessage(strconv.Itoa(st.seq))
	st.mu.Unlock()
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

// responseOK reads a response's success and message.
func responseOK(resp json.RawMessage) (bool, string) {
	var r struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return false, ""
	}
	return r.Success, r.Message
}

// dapReply builds the kernel's own response to req.
func (k *Kernel) dapReply(req enginemsg.DebugRequest, body any, err error) json.RawMessage {
	k.dbgState.mu.Lock()
	k.dbgState.seq++
	seq := k.dbgState.seq
	k.dbgState.mu.Unlock()
	if body == nil {
		body = map[string]any{}
	}
	r := enginemsg.DebugResponse{Seq: seq, Type: "response", RequestSeq: req.Seq, Command: req.Command, Success: err == nil, Body: body}
	if err != nil {
		r.Message = err.Error()
	}
	b, mErr := json.Marshal(r)
	if mErr != nil {
		b, _ = json.Marshal(enginemsg.DebugResponse{Seq: seq, Type: "response", RequestSeq: req.Seq, Command: req.Command, Message: mErr.Error(), Body: map[string]any{}})
	}
	return b
}

// debugInfo is the body of the debugInfo response: the session's state,
// and how the frontend names cells.
func (k *Kernel) debugInfo() map[string]any {
	st := &k.dbgState
	st.mu.Lock()
	defer st.mu.Unlock()
	bps := []map[string]any{}
	for _, path := range slices.Sorted(maps.Keys(st.breakpoints)) {
		bps = append(bps, map[string]any{"source": path, "breakpoints": st.breakpoints[path]})
	}
	stopped := []int{}
	for t := range st.stopped {
		stopped = append(stopped, t)
	}
	slices.Sort(stopped)
	n := k.naming()
	return map[string]any{
		"isStarted":      st.started && st.attached,
		"hashMethod":     cellpath.Method,
		"hashSeed":       n.Seed,
		"tmpFilePrefix":  n.Prefix,
		"tmpFileSuffix":  n.Suffix,
		"breakpoints":    bps,
		"stoppedThreads": stopped,
		"richRendering":  true,
		"exceptionPaths": []string{},
		"copyToGlobals":  false,
	}
}

// dumpCell writes a cell's text where its path says, for the frontend
// to show and the debugger to name.
func (k *Kernel) dumpCell(raw json.RawMessage) (string, error) {
	var args struct {
		Code *string `json:"code"`
	}
	if err := json.Unmarshal(raw, &args); err != nil || args.Code == nil {
		return "", errors.New("dumpCell needs the cell's code")
	}
	if err := os.MkdirAll(k.dbgState.dir, 0o700); err != nil {
		return "", fmt.Errorf("could not make the directory for cells' sources: %w", err)
	}
	path := k.naming().Path(*args.Code)
	if err := os.WriteFile(path, []byte(*args.Code), 0o600); err != nil {
		return "", fmt.Errorf("could not write the cell's source: %w", err)
	}
	return path, nil
}

// source reads a dumped cell back. Only the cells' directory is read.
func (k *Kernel) source(raw json.RawMessage) (string, error) {
	var args struct {
		Source struct {
			Path string `json:"path"`
		} `json:"source"`
	}
	_ = json.Unmarshal(raw, &args)
	path := filepath.Clean(args.Source.Path)
	if !strings.HasPrefix(path, k.naming().Prefix) {
		return "", errors.New("source unavailable: only the notebook's cells are sources")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", errors.New("source unavailable")
	}
	return string(b), nil
}

// DebugEvent publishes an event of the engine's debugger (a Debug
// Adapter Protocol event) as debug_event, and keeps track of the stopped
// goroutines. It may be called from any goroutine.
func (k *Kernel) DebugEvent(raw json.RawMessage) {
	var ev struct {
		Event string `json:"event"`
		Body  struct {
			ThreadID int `json:"threadId"`
		} `json:"body"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		k.log.Warn("a malformed debug event", "err", err)
		return
	}
	st := &k.dbgState
	st.mu.Lock()
	switch ev.Event {
	case "stopped":
		st.stopped[ev.Body.ThreadID] = true
	case "continued":
		delete(st.stopped, ev.Body.ThreadID)
	case "thread":
		if strings.Contains(string(raw), `"exited"`) {
			delete(st.stopped, ev.Body.ThreadID)
		}
	}
	parent := st.parent
	st.mu.Unlock()
	if ev.Event != "initialized" {
		if p := k.lastParent.Load(); p != nil {
			parent = p
		}
	}
	if k.socks == nil {
		return
	}
	k.publish(parent, "debug_event", k.resequence(raw))
	if ev.Event == "stopped" {
		k.serveQueuedAside()
	}
}

// debugStopped tells whether the engine has a goroutine stopped in the
// debugger: the running cell waits, so completion and inspection are
// answered aside (see shellReadLoop).
func (k *Kernel) debugStopped() bool {
	k.dbgState.mu.Lock()
	defer k.dbgState.mu.Unlock()
	return len(k.dbgState.stopped) > 0
}

// asidable tells the shell requests answered aside while a cell is
// stopped at a breakpoint: those about code's text, which run nothing.
func (k *Kernel) asidable(m *wire.Message) bool {
	return k.dbg != nil && k.sourceHandler(m.Header.MsgType, true) != nil
}

// serveAside answers a shell request aside, on a goroutine of its own
// (the shell goroutine waits for the stopped cell).
func (k *Kernel) serveAside(ctx context.Context, m *wire.Message) {
	k.asides.Go(func() {
		k.dispatch(ctx, k.socks.shell, m, k.sourceHandler(m.Header.MsgType, true))
	})
}

// serveQueuedAside wakes asideLoop: a cell stopped at a breakpoint, and
// completion asked before it stopped must not wait for it.
func (k *Kernel) serveQueuedAside() {
	select {
	case k.asideWake <- struct{}{}:
	default:
	}
}

// asideLoop answers aside the queued requests about code's text each time a
// cell stops at a breakpoint.
func (k *Kernel) asideLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.asideWake:
		}
		for _, m := range k.queue.take(k.asidable) {
			k.serveAside(ctx, m)
		}
	}
}

// removeDebugDir removes the dumped cells, if the kernel made their
// directory.
func (k *Kernel) removeDebugDir() {
	st := &k.dbgState
	if st.madeDir && st.dir != "" {
		if err := os.RemoveAll(st.dir); err != nil {
			k.log.Warn("removing the cells' sources", "err", err)
		}
	}
}
