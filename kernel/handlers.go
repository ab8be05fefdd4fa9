package kernel

import (
	"context"
	"errors"
	"fmt"

	"atonce/internal/enginemsg"
	"atonce/kernel/wire"
)

// shellHandler returns the handler for a shell message type, or nil.
func (k *Kernel) shellHandler(msgType string) handler {
	if h := k.sourceHandler(msgType, false); h != nil {
		return h
	}
	switch msgType {
	case "execute_request":
		return k.execute
	case "kernel_info_request":
		return k.kernelInfo
	case "history_request":
		return k.history
	case "comm_info_request":
		return k.commInfo
	case "comm_open":
		return k.commOpen
	case "comm_msg", "comm_close":
		return k.commIgnore
	case "shutdown_request":
		return k.shutdown
	case "interrupt_request":
		return k.interrupt
	}
	return nil
}

// controlHandler returns the handler for a control message type, or nil.
func (k *Kernel) controlHandler(msgType string) handler {
	switch msgType {
	case "shutdown_request":
		return k.shutdown
	case "interrupt_request":
		return k.interrupt
	case "kernel_info_request":
		return k.kernelInfo
	case "debug_request":
		return k.debugRequest
	}
	return nil
}

// sourceHandler returns the handler of a shell request about the text of
// code, which runs nothing (completion, inspection, is_complete), or nil
// for another type. aside: the engine answers it alongside the running
// request, while a cell is stopped at a breakpoint.
func (k *Kernel) sourceHandler(msgType string, aside bool) handler {
	switch msgType {
	case "complete_request":
		return k.completion(aside)
	case "inspect_request":
		return k.inspection(aside)
	case "is_complete_request":
		return k.isCompletion(aside)
	}
	return nil
}

func (k *Kernel) kernelInfo(ctx context.Context, ch *channel, m *wire.Message) {
	links := k.info.HelpLinks
	if links == nil {
		links = []map[string]string{}
	}
	features := []string{}
	if k.dbg != nil {
		features = append(features, "debugger")
	}
	k.reply(ch, m, "kernel_info_reply", map[string]any{
		"status":                 "ok",
		"protocol_version":       wire.ProtocolVersion,
		"implementation":         k.info.Implementation,
		"implementation_version": k.info.ImplementationVersion,
		"language_info":          k.info.LanguageInfo,
		"banner":                 k.info.Banner,
		"help_links":             links,
		// Jupyter's debugger: supported_features since protocol 5.5,
		// debugger before (JupyterLab reads either).
		"supported_features": features,
		"debugger":           k.dbg != nil,
	})
}

type executeRequest struct {
	Code            string            `json:"code"`
	Silent          bool              `json:"silent"`
	StoreHistory    *bool             `json:"store_history"`
	UserExpressions map[string]string `json:"user_expressions"`
	AllowStdin      *bool             `json:"allow_stdin"`
	StopOnError     *bool             `json:"stop_on_error"`
}

func orTrue(b *bool) bool { return b == nil || *b }

func (k *Kernel) execute(ctx context.Context, ch *channel, m *wire.Message) {
	var req executeRequest
	if err := m.DecodeContent(&req); err != nil {
		k.log.Warn("malformed execute_request", "err", err)
		k.reply(ch, m, "execute_reply", map[string]any{
			"status": "error", "ename": "BadRequest", "evalue": "malformed execute_request: " + err.Error(),
			"traceback": []string{}, "execution_count": k.counter,
		})
		return
	}
	storeHistory := orTrue(req.StoreHistory) && !req.Silent
	if storeHistory {
		k.counter++
	}
	count := k.counter
	if !req.Silent {
		k.lastParent.Store(m)
		k.publish(m, "execute_input", map[string]any{"code": req.Code, "execution_count": count})
	}

	out := &cellOutput{k: k, parent: m, silent: req.Silent, allowStdin: orTrue(req.AllowStdin)}
	rep, err := k.engine.Request(ctx, enginemsg.Request{
		Kind:            enginemsg.KindExecute,
		Code:            req.Code,
		Silent:          req.Silent,
		AllowStdin:      out.allowStdin,
		UserExpressions: req.UserExpressions,
	}, out)
	if err != nil {
		rep = &enginemsg.Reply{Err: internalError(err)}
	}

	var resultText *string
	if rep.Err == nil && rep.Result != nil && !req.Silent {
		k.publish(m, "execute_result", map[string]any{
			"execution_count": count,
			"data":            rep.Result,
			"metadata":        orEmpty(rep.ResultMetadata),
		})
		if s, ok := rep.Result["text/plain"].(string); ok {
			resultText = &s
		}
	}
	if storeHistory {
		k.hist.add(count, req.Code, resultText)
	}

	content := map[string]any{"execution_count": count}
	if rep.Err != nil {
		if !req.Silent {
			k.publish(m, "error", errorContent(rep.Err))
		}
		for key, v := range errorContent(rep.Err) {
			content[key] = v
		}
		content["status"] = "error"
	} else {
		content["status"] = "ok"
		content["payload"] = orEmptyList(rep.Payload)
		content["user_expressions"] = orEmpty(rep.UserExpressions)
	}
	k.reply(ch, m, "execute_reply", content)

	// As ipykernel does, only a cell the user sees fail stops the queue:
	// a silent request (a frontend's own probe) never does.
	if rep.Err != nil && orTrue(req.StopOnError) && !req.Silent {
		k.aborting = &abort{cause: rep.Err, requests: k.queue.takeExecutes()}
	}
}

// abort is what a failed cell leaves for shellLoop: the execute requests
// that were queued when it failed, to be answered after its idle status.
type abort struct {
	cause    *enginemsg.Error
	requests []*wire.Message
}

// answer replies to each aborted request with an error, between its own
// busy and idle statuses, as if it had been dispatched.
func (a *abort) answer(k *Kernel) {
	for _, m := range a.requests {
		k.publish(m, "status", map[string]any{"execution_state": "busy"})
		k.reply(k.socks.shell, m, "execute_reply", map[string]any{
			"status":          "error",
			"ename":           "ExecutionAborted",
			"evalue":          fmt.Sprintf("not run: an earlier cell failed (%s) and stop_on_error is set", a.cause.Name),
			"traceback":       []string{},
			"execution_count": k.counter,
		})
		k.publish(m, "status", map[string]any{"execution_state": "idle"})
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orEmptyList(l []map[string]any) []map[string]any {
	if l == nil {
		return []map[string]any{}
	}
	return l
}

// cellOutput publishes an execute request's events on iopub.
type cellOutput struct {
	k          *Kernel
	parent     *wire.Message
	silent     bool
	allowStdin bool
}

func (o *cellOutput) Event(ev enginemsg.Event) {
	if o.silent {
		return
	}
	o.k.publishEvent(o.parent, ev)
}

// publishEvent turns an engine output event into its iopub message.
func (k *Kernel) publishEvent(parent *wire.Message, ev enginemsg.Event) {
	switch ev.Kind {
	case enginemsg.EventStream:
		name := ev.Name
		if name != "stderr" {
			name = "stdout"
		}
		k.publish(parent, "stream", map[string]any{"name": name, "text": ev.Text})
	case enginemsg.EventDisplay, enginemsg.EventUpdateDisplay:
		content := map[string]any{
			"data":      ev.Data,
			"metadata":  orEmpty(ev.Metadata),
			"transient": map[string]any{},
		}
		if ev.DisplayID != "" {
			content["transient"] = map[string]any{"display_id": ev.DisplayID}
		}
		msgType := "display_data"
		if ev.Kind == enginemsg.EventUpdateDisplay {
			msgType = "update_display_data"
		}
		k.publish(parent, msgType, content)
	case enginemsg.EventClearOutput:
		k.publish(parent, "clear_output", map[string]any{"wait": ev.Wait})
	default:
		k.log.Warn("unknown engine event", "kind", ev.Kind)
	}
}

// Background publishes output that arrives while no request waits for
// it (a goroutine left running by a cell): it goes to the last cell run.
func (k *Kernel) Background(ev enginemsg.Event) {
	parent := k.lastParent.Load()
	if parent == nil || k.socks == nil {
		return
	}
	k.publishEvent(parent, ev)
}

// errNoStdin is what a cell reading stdin gets when its client said
// allow_stdin: false.
var errNoStdin = errors.New("this cell reads standard input, but the client that ran it does not accept input requests (allow_stdin is false)")

func (o *cellOutput) Input(ctx context.Context, prompt string, password bool) (string, error) {
	if !o.allowStdin {
		return "", errNoStdin
	}
	k := o.k
	waiting := make(chan *wire.Message, 1)
	k.inputMu.Lock()
	k.inputWaiting = waiting
	k.inputMu.Unlock()
	defer func() {
		k.inputMu.Lock()
		k.inputWaiting = nil
		k.inputMu.Unlock()
	}()
	req, err := wire.NewMessage(k.session, "input_request", o.parent, map[string]any{"prompt": prompt, "password": password})
	if err != nil {
		return "", err
	}
	k.socks.stdin.send(req)
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case m := <-waiting:
		var rep struct {
			Value string `json:"value"`
		}
		if err := m.DecodeContent(&rep); err != nil {
			return "", fmt.Errorf("the input reply was malformed: %w", err)
		}
		return rep.Value, nil
	}
}

type codeRequest struct {
	Code        string `json:"code"`
	CursorPos   int    `json:"cursor_pos"`
	DetailLevel int    `json:"detail_level"`
}

// ask sends a request that runs nothing to the engine: in order, or
// aside (while a cell is stopped at a breakpoint).
func (k *Kernel) ask(ctx context.Context, req enginemsg.Request, aside bool) (*enginemsg.Reply, error) {
	if aside && k.dbg != nil {
		return k.dbg.Aside(ctx, req)
	}
	return k.engine.Request(ctx, req, discard{})
}

// codeCall is the handler of a request about code's text: it asks the
// engine (in order, or aside) and replies with content, as empty makes it
// and fill completes it from the engine's answer.
func (k *Kernel) codeCall(aside bool, replyType string, ask func(codeRequest) enginemsg.Request, empty func(codeRequest) map[string]any, fill func(map[string]any, *enginemsg.Reply)) handler {
	return func(ctx context.Context, ch *channel, m *wire.Message) {
		var req codeRequest
		_ = m.DecodeContent(&req)
		content := empty(req)
		rep, err := k.ask(ctx, ask(req), aside)
		if err != nil {
			k.log.Warn("asking the engine", "msg_type", m.Header.MsgType, "err", err)
		} else if rep.Err == nil {
			fill(content, rep)
		}
		k.reply(ch, m, replyType, content)
	}
}

func (k *Kernel) completion(aside bool) handler {
	return k.codeCall(aside, "complete_reply",
		func(req codeRequest) enginemsg.Request {
			return enginemsg.Request{Kind: enginemsg.KindComplete, Code: req.Code, Cursor: req.CursorPos}
		},
		func(req codeRequest) map[string]any {
			return map[string]any{"status": "ok", "matches": []string{}, "cursor_start": req.CursorPos, "cursor_end": req.CursorPos, "metadata": map[string]any{}}
		},
		func(content map[string]any, rep *enginemsg.Reply) {
			if rep.Matches != nil {
				content["matches"] = rep.Matches
			}
			content["cursor_start"] = rep.CursorStart
			content["cursor_end"] = rep.CursorEnd
			content["metadata"] = orEmpty(rep.Metadata)
		})
}

func (k *Kernel) inspection(aside bool) handler {
	return k.codeCall(aside, "inspect_reply",
		func(req codeRequest) enginemsg.Request {
			return enginemsg.Request{Kind: enginemsg.KindInspect, Code: req.Code, Cursor: req.CursorPos, Detail: req.DetailLevel}
		},
		func(codeRequest) map[string]any {
			return map[string]any{"status": "ok", "found": false, "data": map[string]any{}, "metadata": map[string]any{}}
		},
		func(content map[string]any, rep *enginemsg.Reply) {
			if rep.Found {
				content["found"] = true
				content["data"] = rep.Data
				content["metadata"] = orEmpty(rep.Metadata)
			}
		})
}

func (k *Kernel) isCompletion(aside bool) handler {
	return k.codeCall(aside, "is_complete_reply",
		func(req codeRequest) enginemsg.Request {
			return enginemsg.Request{Kind: enginemsg.KindIsComplete, Code: req.Code}
		},
		func(codeRequest) map[string]any { return map[string]any{"status": "unknown"} },
		func(content map[string]any, rep *enginemsg.Reply) {
			if rep.Status != "" {
				content["status"] = rep.Status
				if rep.Status == "incomplete" {
					content["indent"] = rep.Indent
				}
			}
		})
}

func (k *Kernel) history(ctx context.Context, ch *channel, m *wire.Message) {
	var req historyRequest
	if err := m.DecodeContent(&req); err != nil {
		k.log.Warn("malformed history_request", "err", err)
	}
	k.reply(ch, m, "history_reply", map[string]any{"status": "ok", "history": k.hist.query(req)})
}

func (k *Kernel) commInfo(ctx context.Context, ch *channel, m *wire.Message) {
	k.reply(ch, m, "comm_info_reply", map[string]any{"status": "ok", "comms": map[string]any{}})
}

// commOpen refuses a comm for a target the kernel does not have, the way
// ipykernel does: it closes the comm at once.
func (k *Kernel) commOpen(ctx context.Context, ch *channel, m *wire.Message) {
	var req struct {
		CommID     string `json:"comm_id"`
		TargetName string `json:"target_name"`
	}
	_ = m.DecodeContent(&req)
	k.log.Warn("no such comm target", "target_name", req.TargetName)
	k.publish(m, "comm_close", map[string]any{"comm_id": req.CommID, "data": map[string]any{}})
}

func (k *Kernel) commIgnore(ctx context.Context, ch *channel, m *wire.Message) {
	k.log.Info("message for an unknown comm", "msg_type", m.Header.MsgType)
}

func (k *Kernel) shutdown(ctx context.Context, ch *channel, m *wire.Message) {
	var req struct {
		Restart bool `json:"restart"`
	}
	_ = m.DecodeContent(&req)
	k.reply(ch, m, "shutdown_reply", map[string]any{"status": "ok", "restart": req.Restart})
	k.stop()
}

func (k *Kernel) interrupt(ctx context.Context, ch *channel, m *wire.Message) {
	k.Interrupt()
	k.reply(ch, m, "interrupt_reply", map[string]any{"status": "ok"})
}

// discard is the Output of requests that produce no output.
type discard struct{}

func (discard) Event(enginemsg.Event) {}
func (discard) Input(context.Context, string, bool) (string, error) {
	return "", errNoStdin
}
