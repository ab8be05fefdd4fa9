package dap

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"atonce/internal/cellpath"
	"atonce/internal/enginemsg"
	"atonce/interp"
)

type discard struct{}

func (discard) Stream(string, string)      {}
func (discard) Display(ev enginemsg.Event) {}

// newAdapter is an Adapter on a fresh session, with the events it sent.
func newAdapter(t *testing.T) (*Adapter, *interp.Session, chan enginemsg.DebugEvent) {
	t.Helper()
	sess, err := interp.New(interp.Options{Output: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	events := make(chan enginemsg.DebugEvent, 100)
	a := New(sess, func(raw json.RawMessage) {
		var ev enginemsg.DebugEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Errorf("an event that is not JSON: %s", raw)
		}
		events <- ev
	})
	return a, sess, events
}

// call sends a request and decodes the response.
func call(t *testing.T, a *Adapter, command string, args any) (resp struct {
	enginemsg.DebugResponse
	Body map[string]any `json:"body"`
}) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(enginemsg.DebugRequest{Seq: 7, Type: "request", Command: command, Arguments: raw})
	if err := json.Unmarshal(a.Handle(context.Background(), req), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Type != "response" || resp.Command != command || resp.RequestSeq != 7 {
		t.Fatalf("response %+v does not answer %s", resp, command)
	}
	return resp
}

var naming = cellpath.Naming{Prefix: "/cells/", Suffix: cellpath.Suffix, Seed: cellpath.Seed}

func TestRequestsThatFail(t *testing.T) {
	a, _, _ := newAdapter(t)
	for _, tt := range []struct {
		command string
		args    any
		want    string
	}{
		{"attach", map[string]any{}, "needs the cells' naming"},
		{"setBreakpoints", map[string]any{"source": map[string]any{"path": "/cells/1.go"}, "breakpoints": []any{}}, enginemsg.DebugNotAttached},
		{"stackTrace", map[string]any{"threadId": 1}, "not stopped"},
		{"continue", map[string]any{"threadId": 1}, enginemsg.DebugNotAttached},
		{"scopes", map[string]any{"frameId": 99}, "no frame 99"},
		{"variables", map[string]any{"variablesReference": 99}, "no variables 99"},
		{"evaluate", map[string]any{"expression": "1 +"}, "expected operand"},
		{"copyToGlobals", map[string]any{}, `does not handle "copyToGlobals"`},
		{"scopes", "not an object", "malformed"},
	} {
		t.Run(tt.command, func(t *testing.T) {
			resp := call(t, a, tt.command, tt.args)
			if resp.Success || !strings.Contains(resp.Message, tt.want) {
				t.Errorf("%s: success %v, message %q; want a failure saying %q", tt.command, resp.Success, resp.Message, tt.want)
			}
		})
	}
}

func TestBreakpointStackAndVariables(t *testing.T) {
	a, sess, events := newAdapter(t)
	if resp := call(t, a, "attach", map[string]any{"atonceCells": naming}); !resp.Success {
		t.Fatalf("attach: %s", resp.Message)
	}
	if ev := <-events; ev.Event != "initialized" {
		t.Fatalf("first event %+v, want initialized", ev)
	}
	def := "func add(a, b int) int {\n\tc := a + b\n\treturn c\n}"
	sess.DebugPrepare()
	if r := sess.Execute(context.Background(), def); r.Err != nil {
		t.Fatal(r.Err)
	}
	path := naming.Path(def)
	resp := call(t, a, "setBreakpoints", map[string]any{"source": map[string]any{"path": path}, "breakpoints": []any{map[string]any{"line": 2}}})
	bps, _ := resp.Body["breakpoints"].([]any)
	if !resp.Success || len(bps) != 1 || bps[0].(map[string]any)["verified"] != true {
		t.Fatalf("setBreakpoints: %+v", resp)
	}
	done := make(chan interp.Result, 1)
	go func() { done <- sess.Execute(context.Background(), "add(1, 2)") }()
	var stopped enginemsg.DebugEvent
	for stopped.Event != "stopped" {
		select {
		case stopped = <-events:
		case <-time.After(20 * time.Second):
			t.Fatal("no stopped event")
		}
	}
	body := stopped.Body.(map[string]any)
	if body["reason"] != "breakpoint" || body["threadId"] != float64(1) {
		t.Fatalf("stopped %+v", body)
	}
	frames := call(t, a, "stackTrace", map[string]any{"threadId": 1}).Body["stackFrames"].([]any)
	top := frames[0].(map[string]any)
	if top["name"] != "add" || top["line"] != float64(2) || top["source"].(map[string]any)["path"] != path {
		t.Fatalf("top frame %+v", top)
	}
	scopes := call(t, a, "scopes", map[string]any{"frameId": top["id"]}).Body["scopes"].([]any)
	locals := scopes[0].(map[string]any)
	vars := call(t, a, "variables", map[string]any{"variablesReference": locals["variablesReference"]}).Body["variables"].([]any)
	got := map[string]any{}
	for _, v := range vars {
		v := v.(map[string]any)
		got[v["name"].(string)] = v["value"]
	}
	if got["a"] != "1" || got["b"] != "2" {
		t.Errorf("locals %v, want a 1 and b 2", got)
	}
	if r := call(t, a, "evaluate", map[string]any{"expression": "a + b", "frameId": top["id"]}); r.Body["result"] != "3" {
		t.Errorf("evaluate: %+v", r)
	}
	if r := call(t, a, "richInspectVariables", map[string]any{"variableName": "b", "frameId": top["id"]}); r.Body["data"].(map[string]any)["text/plain"] != "2" {
		t.Errorf("richInspectVariables: %+v", r)
	}
	if r := call(t, a, "continue", map[string]any{"threadId": 1}); !r.Success {
		t.Fatalf("continue: %+v", r)
	}
	if r := <-done; r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := call(t, a, "disconnect", map[string]any{}); !r.Success {
		t.Fatalf("disconnect: %+v", r)
	}
}
