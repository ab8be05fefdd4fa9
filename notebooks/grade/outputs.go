package grade

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"atonce/internal/enginemsg"
	"atonce/kernel"
)

// outputs collects a running cell's output as nbformat output objects, as
// a Jupyter client would show them: consecutive text of one stream joined,
// displays updated in place, clear_output honoured.
type outputs struct {
	mu       sync.Mutex
	items    []map[string]any
	clearing bool        // a clear_output with wait: clear at the next output
	timedOut atomic.Bool // the cell ran out of time and was interrupted
}

var _ kernel.Output = (*outputs)(nil)

// Event implements kernel.Output.
func (o *outputs) Event(ev enginemsg.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch ev.Kind {
	case enginemsg.EventClearOutput:
		if ev.Wait {
			o.clearing = true
		} else {
			o.items = nil
		}
		return
	case enginemsg.EventUpdateDisplay:
		for _, out := range o.items {
			if id, _ := out["transient_id"].(string); id != "" && id == ev.DisplayID {
				out["data"] = map[string]any(ev.Data)
			}
		}
		return
	}
	if o.clearing {
		o.items, o.clearing = nil, false
	}
	switch ev.Kind {
	case enginemsg.EventStream:
		if n := len(o.items); n > 0 && o.items[n-1]["output_type"] == "stream" && o.items[n-1]["name"] == ev.Name {
			o.items[n-1]["text"] = o.items[n-1]["text"].(string) + ev.Text
			return
		}
		o.items = append(o.items, map[string]any{"output_type": "stream", "name": ev.Name, "text": ev.Text})
	case enginemsg.EventDisplay:
		meta := ev.Metadata
		if meta == nil {
			meta = map[string]any{}
		}
		o.items = append(o.items, map[string]any{"output_type": "display_data", "data": map[string]any(ev.Data), "metadata": meta, "transient_id": ev.DisplayID})
	}
}

// Input implements kernel.Output: a graded notebook gets no input.
func (o *outputs) Input(context.Context, string, bool) (string, error) {
	return "", errors.New("a notebook being graded cannot read input")
}

// result adds the cell's value.
func (o *outputs) result(data enginemsg.Bundle, meta map[string]any, count int) {
	if meta == nil {
		meta = map[string]any{}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items = append(o.items, map[string]any{"output_type": "execute_result", "data": map[string]any(data), "metadata": meta, "execution_count": count})
}

// error adds the cell's error.
func (o *outputs) error(ename, evalue string, traceback []string) {
	if traceback == nil {
		traceback = []string{}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items = append(o.items, map[string]any{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback})
}

// list returns the outputs as nbformat has them (a display's id, kept
// to update it, is not part of the file).
func (o *outputs) list() []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]map[string]any, 0, len(o.items))
	for _, m := range o.items {
		c := map[string]any{}
		for k, v := range m {
			if k != "transient_id" {
				c[k] = v
			}
		}
		out = append(out, c)
	}
	return out
}
