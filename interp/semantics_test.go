package interp

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestGoSemantics runs cells that depend on Go 1.22+ semantics or on
// imports the user left out. Each want is what `go run` printed for the
// same code in a main func (Go 1.26), not a guess.
func TestGoSemantics(t *testing.T) {
	for _, tt := range []struct {
		name, cell, want, wantNote string
	}{
		{"auto-import", `fmt.Println(strings.ToUpper("x"))`, "X\n", ""},
		{"per-iteration loop variable", `var wg sync.WaitGroup
var mu sync.Mutex
seen := []int{}
for i := 0; i < 3; i++ {
	wg.Add(1)
	go func() { defer wg.Done(); mu.Lock(); seen = append(seen, i); mu.Unlock() }()
}
wg.Wait()
sort.Ints(seen)
fmt.Println(seen)`, "[0 1 2]\n", ""},
		{"range over int", "for i := range 3 {\n\tfmt.Print(i)\n}\nfmt.Println()", "012\n", ""},
		{"min and max", `fmt.Println(min(3, 1, 2), max(2.5, 1), min("b", "a"))`, "1 2.5 a\n", ""},
		{"clear", "m := map[int]int{1: 1}\nclear(m)\nfmt.Println(len(m))", "0\n", ""},
		{"ambiguous import", "fmt.Println(rand.IntN(1))", "0\n", "math/rand/v2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := &recorder{}
			s, err := New(Options{Output: out})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			res := s.Execute(context.Background(), tt.cell)
			if res.Err != nil {
				t.Fatalf("Execute: %s: %s\n%s", res.Err.Name, res.Err.Value, strings.Join(res.Err.Traceback, "\n"))
			}
			if got := out.text("stdout"); got != tt.want {
				t.Errorf("stdout got %q, want %q", got, tt.want)
			}
			notes := strings.Join(res.Notes, "\n")
			if tt.wantNote == "" && notes != "" {
				t.Errorf("notes got %q, want none", notes)
			}
			if !strings.Contains(notes, tt.wantNote) {
				t.Errorf("notes got %q, want one naming %q", notes, tt.wantNote)
			}
		})
	}
}

func TestGoroutinePanicIsReported(t *testing.T) {
	out := &recorder{}
	s, err := New(Options{Output: out})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	res := s.Execute(ctx, "done := make(chan bool)\ngo func() {\n\tdefer close(done)\n\tpanic(\"in a goroutine\")\n}()\n<-done\nkept := 7")
	if res.Err != nil {
		t.Fatalf("cell: %s: %s", res.Err.Name, res.Err.Value)
	}
	// The goroutine's deferred close(done) runs before the recovery that
	// reports the panic, so the report may come just after the cell.
	want := "panic in a goroutine (started by the go statement at 2:1 of its cell): in a goroutine"
	deadline := time.Now().Add(5 * time.Second)
	for !out.peek("stderr", want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		s.SyncOutput()
	}
	if got := out.text("stderr"); !strings.Contains(got, want) {
		t.Errorf("stderr got %q, want the goroutine's panic with its go statement's position", got)
	}
	res = s.Execute(ctx, "kept * 6")
	if res.Err != nil || res.Value["text/plain"] != "42" {
		t.Errorf("after the panic got %v %v, want 42: the session must survive", res.Value, res.Err)
	}
}

func TestGoroutinesListsWhatCellsLeftRunning(t *testing.T) {
	s, err := New(Options{Output: &recorder{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Goroutines(); got != "" {
		t.Errorf("fresh session: Goroutines got %q, want none", got)
	}
	if r := s.Execute(context.Background(), "stop := make(chan bool)\ngo func() { <-stop }()"); r.Err != nil {
		t.Fatal(r.Err)
	}
	// The goroutine may not have reached its receive yet: give it a moment.
	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = s.Goroutines(); strings.Contains(got, "waiting on a channel") {
			break
		}
	}
	if !strings.Contains(got, "1 goroutine(s)") || !strings.Contains(got, "waiting on a channel") {
		t.Errorf("Goroutines got %q, want one goroutine waiting on a channel", got)
	}
	s.Execute(context.Background(), "close(stop)")
}

func TestCellValues(t *testing.T) {
	for _, tt := range []struct {
		name, cell string
		want       map[string]any // nil: no value
	}{
		{"struct with field names", "type P struct{ X, Y int }\nP{1, 2}", map[string]any{"text/plain": "{X:1 Y:2}"}},
		{"slice", "[]int{1, 2, 3}", map[string]any{"text/plain": "[1 2 3]"}},
		{"map", `map[string]int{"a": 1}`, map[string]any{"text/plain": "map[a:1]"}},
		{"display call shows no value", `display.HTML("<b>x</b>")`, nil},
		{"type with a Display method", "type Temp float64\nfunc (t Temp) Display() display.Bundle {\n\treturn display.Bundle{\"text/html\": \"<b>hot</b>\", \"text/plain\": \"hot\"}\n}\nTemp(40)",
			map[string]any{"text/html": "<b>hot</b>", "text/plain": "hot"}},
		{"void call", `fmt.Println("x")`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{Output: &recorder{}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			res := s.Execute(context.Background(), tt.cell)
			if res.Err != nil {
				t.Fatalf("Execute: %s: %s", res.Err.Name, res.Err.Value)
			}
			if len(res.Value) != len(tt.want) {
				t.Fatalf("value got %v, want %v", res.Value, tt.want)
			}
			for k, v := range tt.want {
				if res.Value[k] != v {
					t.Errorf("value[%s] got %v, want %v", k, res.Value[k], v)
				}
			}
		})
	}
}
