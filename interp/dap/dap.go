// Package dap serves the engine's side of Jupyter's debugger: the Debug
// Adapter Protocol requests (https://microsoft.github.io/debug-adapter-protocol/)
// that the kernel passes on from debug_request messages, answered with
// the session's Debugger (atonce/interp), and the events it sends back
// for the kernel to publish as debug_event.
//
// The kernel answers the requests that are about Jupyter rather than Go
// itself (initialize, debugInfo, dumpCell, source, modules); it adds to
// attach how cells are named (enginemsg.DebugAttach), so that frames
// carry the path the frontend computes for each cell. The messages are
// enginemsg's DebugRequest, DebugResponse and DebugEvent.
package dap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/token"
	"path/filepath"
	"sync"

	"atonce/internal/enginemsg"
	"atonce/interp"
)

// Adapter answers DAP requests for one session. Handle may be called from
// any goroutine, one call at a time.
type Adapter struct {
	sess *interp.Session
	d    *interp.Debugger
	send func(json.RawMessage)

	mu  sync.Mutex
	seq int
}

// New returns an Adapter for sess that sends its events to send.
func New(sess *interp.Session, send func(json.RawMessage)) *Adapter {
	return &Adapter{sess: sess, d: sess.Debugger(), send: send}
}

func (a *Adapter) nextSeq() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	return a.seq
}

// Handle answers one request (raw JSON) with its response.
func (a *Adapter) Handle(ctx context.Context, raw json.RawMessage) json.RawMessage {
	var req enginemsg.DebugRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return a.encode(enginemsg.DebugResponse{Type: "response", Command: "unknown", Message: fmt.Sprintf("the debug request is not valid JSON: %v", err)})
	}
	body, err := a.handle(ctx, req)
	resp := enginemsg.DebugResponse{Type: "response", RequestSeq: req.Seq, Command: req.Command, Success: err == nil, Body: body}
	if err != nil {
		resp.Message = err.Error()
		if errors.Is(err, interp.ErrNotAttached) {
			resp.Message = enginemsg.DebugNotAttached
		}
	}
	if resp.Body == nil {
		resp.Body = map[string]any{}
	}
	return a.encode(resp)
}

func (a *Adapter) encode(resp enginemsg.DebugResponse) json.RawMessage {
	resp.Seq = a.nextSeq()
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(enginemsg.DebugResponse{Seq: resp.Seq, Type: "response", RequestSeq: resp.RequestSeq, Command: resp.Command, Message: err.Error(), Body: map[string]any{}})
	}
	return b
}

// event sends a DAP event.
func (a *Adapter) event(name string, body any) {
	b, err := json.Marshal(enginemsg.DebugEvent{Seq: a.nextSeq(), Type: "event", Event: name, Body: body})
	if err == nil {
		a.send(b)
	}
}

// onDebug turns the debugger's events into DAP events.
func (a *Adapter) onDebug(ev interp.DebugEvent) {
	switch ev.Kind {
	case "stopped":
		a.event("stopped", map[string]any{"reason": ev.Reason, "threadId": ev.Thread, "allThreadsStopped": false})
	case "continued":
		a.event("continued", map[string]any{"threadId": ev.Thread, "allThreadsContinued": false})
	case "thread":
		a.event("thread", map[string]any{"reason": ev.Reason, "threadId": ev.Thread})
	}
}

func decode[T any](raw json.RawMessage) (T, error) {
	var v T
	if len(raw) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("the request's arguments are malformed: %w", err)
	}
	return v, nil
}

type threadArgs struct {
	ThreadID int `json:"threadId"`
}

func (a *Adapter) handle(ctx context.Context, req enginemsg.DebugRequest) (any, error) {
	switch req.Command {
	case "attach":
		args, err := decode[enginemsg.DebugAttach](req.Arguments)
		if err != nil {
			return nil, err
		}
		if args.Cells.Prefix == "" {
			return nil, errors.New("attach needs the cells' naming (atonceCells), which the kernel adds")
		}
		if err := a.d.Attach(interp.DebugOptions{Source: args.Cells.Path, Event: a.onDebug}); err != nil {
			return nil, err
		}
		a.event("initialized", map[string]any{})
		return nil, nil
	case "disconnect":
		a.d.Detach()
		return nil, nil
	case "configurationDone", "setExceptionBreakpoints", "setFunctionBreakpoints":
		if req.Command == "setExceptionBreakpoints" || req.Command == "setFunctionBreakpoints" {
			return map[string]any{"breakpoints": []any{}}, nil
		}
		return nil, nil
	case "setBreakpoints":
		return a.setBreakpoints(req.Arguments)
	case "threads":
		var threads []map[string]any
		for _, t := range a.d.Threads() {
			threads = append(threads, map[string]any{"id": t.ID, "name": t.Name})
		}
		return map[string]any{"threads": threads}, nil
	case "stackTrace":
		return a.stackTrace(req.Arguments)
	case "scopes":
		args, err := decode[struct {
			FrameID int `json:"frameId"`
		}](req.Arguments)
		if err != nil {
			return nil, err
		}
		scopes, err := a.d.Scopes(args.FrameID)
		if err != nil {
			return nil, err
		}
		var out []map[string]any
		for _, sc := range scopes {
			s := map[string]any{"name": sc.Name, "variablesReference": sc.Ref, "expensive": false}
			if sc.Name == "Locals" {
				s["presentationHint"] = "locals"
			}
			out = append(out, s)
		}
		return map[string]any{"scopes": out}, nil
	case "variables":
		args, err := decode[struct {
			Ref   int `json:"variablesReference"`
			Start int `json:"start"`
			Count int `json:"count"`
		}](req.Arguments)
		if err != nil {
			return nil, err
		}
		vars, err := a.d.Variables(args.Ref, args.Start, args.Count)
		if err != nil {
			return nil, err
		}
		return map[string]any{"variables": variables(vars)}, nil
	case "continue":
		args, err := decode[threadArgs](req.Arguments)
		if err != nil {
			return nil, err
		}
		return map[string]any{"allThreadsContinued": false}, a.d.Continue(args.ThreadID)
	case "next", "stepIn", "stepOut":
		args, err := decode[threadArgs](req.Arguments)
		if err != nil {
			return nil, err
		}
		kind := map[string]interp.StepKind{"next": interp.StepOver, "stepIn": interp.StepIn, "stepOut": interp.StepOut}[req.Command]
		return nil, a.d.Step(args.ThreadID, kind)
	case "pause":
		args, err := decode[threadArgs](req.Arguments)
		if err != nil {
			return nil, err
		}
		return nil, a.d.Pause(args.ThreadID)
	case "evaluate":
		return a.evaluate(ctx, req.Arguments)
	case "inspectVariables":
		return map[string]any{"variables": variables(a.d.Globals())}, nil
	case "richInspectVariables":
		return a.richInspect(ctx, req.Arguments)
	}
	return nil, fmt.Errorf("atonce's debugger does not handle %q requests", req.Command)
}

func (a *Adapter) setBreakpoints(raw json.RawMessage) (any, error) {
	args, err := decode[struct {
		Source struct {
			Path string `json:"path"`
		} `json:"source"`
		Breakpoints []struct {
			Line int `json:"line"`
		} `json:"breakpoints"`
		Lines []int `json:"lines"`
	}](raw)
	if err != nil {
		return nil, err
	}
	if args.Source.Path == "" {
		return nil, errors.New("setBreakpoints needs a source path")
	}
	lines := args.Lines
	if args.Breakpoints != nil {
		lines = nil
		for _, b := range args.Breakpoints {
			lines = append(lines, b.Line)
		}
	}
	set, err := a.d.SetBreakpoints(args.Source.Path, lines)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(set))
	for _, b := range set {
		bp := map[string]any{"verified": b.Verified, "line": b.Line, "source": map[string]any{"path": args.Source.Path}}
		if b.Message != "" {
			bp["message"] = b.Message
		}
		out = append(out, bp)
	}
	return map[string]any{"breakpoints": out}, nil
}

func (a *Adapter) stackTrace(raw json.RawMessage) (any, error) {
	args, err := decode[struct {
		ThreadID   int `json:"threadId"`
		StartFrame int `json:"startFrame"`
		Levels     int `json:"levels"`
	}](raw)
	if err != nil {
		return nil, err
	}
	frames, err := a.d.Stack(args.ThreadID)
	if err != nil {
		return nil, err
	}
	total := len(frames)
	start := min(max(args.StartFrame, 0), total)
	end := total
	if args.Levels > 0 {
		end = min(total, start+args.Levels)
	}
	out := make([]map[string]any, 0, end-start)
	for _, f := range frames[start:end] {
		out = append(out, map[string]any{
			"id": f.ID, "name": f.Name, "line": f.Line, "column": f.Column,
			"source": map[string]any{"path": f.Source, "name": filepath.Base(f.Source)},
		})
	}
	return map[string]any{"stackFrames": out, "totalFrames": total}, nil
}

// variables is the DAP form of variables.
func variables(vars []interp.Variable) []map[string]any {
	out := make([]map[string]any, 0, len(vars))
	for _, v := range vars {
		m := map[string]any{"name": v.Name, "value": v.Value, "type": v.Type, "variablesReference": v.Ref, "evaluateName": v.EvaluateName}
		if v.Indexed > 0 {
			m["indexedVariables"] = v.Indexed
		}
		out = append(out, m)
	}
	return out
}

func (a *Adapter) evaluate(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[struct {
		Expression string `json:"expression"`
		FrameID    int    `json:"frameId"`
	}](raw)
	if err != nil {
		return nil, err
	}
	if args.FrameID == 0 && !a.d.Installed() {
		// Nothing is debugged: the interpreter evaluates any Go
		// expression, when it is free.
		b, ok, err := a.sess.TryEval(ctx, args.Expression)
		if ok {
			if err != nil {
				return nil, err
			}
			text, _ := b["text/plain"].(string)
			return map[string]any{"result": text, "variablesReference": 0}, nil
		}
	}
	v, err := a.d.Evaluate(args.FrameID, args.Expression)
	if err != nil {
		return nil, err
	}
	return map[string]any{"result": v.Value, "type": v.Type, "variablesReference": v.Ref}, nil
}

func (a *Adapter) richInspect(ctx context.Context, raw json.RawMessage) (any, error) {
	args, err := decode[struct {
		VariableName string `json:"variableName"`
		FrameID      int    `json:"frameId"`
	}](raw)
	if err != nil {
		return nil, err
	}
	if !token.IsIdentifier(args.VariableName) {
		return map[string]any{"data": map[string]any{}, "metadata": map[string]any{}}, nil
	}
	if args.FrameID == 0 && !a.d.Installed() {
		// The value as the cell shows it (its Display bundle, say).
		if b, ok, err := a.sess.TryEval(ctx, args.VariableName); ok && err == nil {
			return map[string]any{"data": b, "metadata": map[string]any{}}, nil
		}
	}
	text, err := a.d.Inspect(args.FrameID, args.VariableName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"data": map[string]any{"text/plain": text}, "metadata": map[string]any{}}, nil
}
