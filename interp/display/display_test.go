package display

import (
	"encoding/base64"
	"image"
	"image/color"
	"sync"
	"testing"

	"atonce/internal/enginemsg"
)

// record installs a publisher that keeps the events, for one test.
func record(t *testing.T) func() []enginemsg.Event {
	var mu sync.Mutex
	var events []enginemsg.Event
	old := SetPublisher(func(ev enginemsg.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
	})
	t.Cleanup(func() { SetPublisher(old) })
	return func() []enginemsg.Event {
		mu.Lock()
		defer mu.Unlock()
		ev := events
		events = nil
		return ev
	}
}

func TestShow(t *testing.T) {
	take := record(t)
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	pngBytes := []byte("\x89PNG fake")
	for _, tt := range []struct {
		name  string
		show  func() *Handle
		mime  string
		data  any // nil: only check presence
		plain string
	}{
		{"html", func() *Handle { return HTML("<b>hi</b> &amp; bye") }, "text/html", "<b>hi</b> &amp; bye", "hi & bye"},
		{"html without text", func() *Handle { return HTML("<hr>") }, "text/html", "<hr>", "<HTML>"},
		{"markdown", func() *Handle { return Markdown("# T") }, "text/markdown", "# T", "# T"},
		{"svg", func() *Handle { return SVG("<svg/>") }, "image/svg+xml", "<svg/>", "<SVG image>"},
		{"png", func() *Handle { return PNG(pngBytes) }, "image/png", base64.StdEncoding.EncodeToString(pngBytes), "<png image, 9 bytes>"},
		{"jpeg", func() *Handle { return JPEG([]byte{1, 2}) }, "image/jpeg", "AQI=", "<jpeg image, 2 bytes>"},
		{"json", func() *Handle { return JSON(map[string]int{"a": 1}) }, "application/json", nil, "{\n  \"a\": 1\n}"},
		{"latex", func() *Handle { return Latex(`$x^2$`) }, "text/latex", `$x^2$`, `$x^2$`},
		{"text", func() *Handle { return Text("plain") }, "text/plain", "plain", "plain"},
		{"image", func() *Handle { return Image(img) }, "image/png", nil, "<image 3x2>"},
		{"data", func() *Handle { return Data(enginemsg.Bundle{"text/csv": "a,b", "text/plain": "a b"}) }, "text/csv", "a,b", "a b"},
		{"json that cannot encode", func() *Handle { return JSON(make(chan int)) }, "text/plain", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.show()
			ev := take()
			if len(ev) != 1 {
				t.Fatalf("got %d events, want 1", len(ev))
			}
			e := ev[0]
			if e.Kind != enginemsg.EventDisplay || e.DisplayID != h.ID() || h.ID() == "" {
				t.Errorf("got kind %q id %q, want %q with the handle's id %q", e.Kind, e.DisplayID, enginemsg.EventDisplay, h.ID())
			}
			got, ok := e.Data[tt.mime]
			if !ok {
				t.Fatalf("bundle %v: got no %s", e.Data, tt.mime)
			}
			if tt.data != nil && got != tt.data {
				t.Errorf("%s: got %v, want %v", tt.mime, got, tt.data)
			}
			if tt.plain != "" && e.Data["text/plain"] != tt.plain {
				t.Errorf("text/plain: got %q, want %q", e.Data["text/plain"], tt.plain)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	take := record(t)
	h := HTML("<p>1</p>")
	take()
	for _, tt := range []struct {
		name    string
		content any
		wantErr bool
	}{
		{"same kind", "<p>2</p>", false},
		{"wrong kind", []byte("x"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := h.Update(tt.content)
			ev := take()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Update(%v): got error %v, want error %v", tt.content, err, tt.wantErr)
			}
			if tt.wantErr {
				if len(ev) != 0 {
					t.Errorf("got events %+v, want none", ev)
				}
				return
			}
			if len(ev) != 1 || ev[0].Kind != enginemsg.EventUpdateDisplay || ev[0].DisplayID != h.ID() || ev[0].Data["text/html"] != tt.content {
				t.Errorf("got %+v, want one update of %s to %v", ev, h.ID(), tt.content)
			}
		})
	}
}

func TestClear(t *testing.T) {
	take := record(t)
	for _, wait := range []bool{false, true} {
		Clear(wait)
		ev := take()
		if len(ev) != 1 || ev[0].Kind != enginemsg.EventClearOutput || ev[0].Wait != wait {
			t.Errorf("Clear(%v): got %+v, want one clear_output with Wait %v", wait, ev, wait)
		}
	}
}
