package models_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"atonce/models"
	_ "atonce/models/distributed" // the distributed model's traits, for its reports
)

func TestCompare(t *testing.T) {
	var resets, calls int
	task := models.Task{Name: "count", N: 3, Call: func(context.Context, int) (any, error) {
		calls++ // sequential and eventloop only: never concurrent
		return nil, nil
	}}
	opt := models.CompareOptions{Repeat: 3, Reset: func() error { resets++; return nil }}
	reps, err := models.Compare(context.Background(), task, []string{"sequential", "eventloop"}, opt)
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	var got []string
	for _, r := range reps {
		got = append(got, r.Model)
	}
	if want := []string{"sequential", "eventloop"}; !slices.Equal(got, want) {
		t.Errorf("Compare reports' models = %v, want %v", got, want)
	}
	if resets != 6 || calls != 18 {
		t.Errorf("Compare with Repeat 3 over 2 models reset %d times and made %d calls, want 6 and 18", resets, calls)
	}
}

func TestCompareErrors(t *testing.T) {
	task := models.Task{N: 1, Call: func(context.Context, int) (any, error) { return nil, nil }}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	errReset := errors.New("replay failed")
	for _, tt := range []struct {
		name    string
		ctx     context.Context
		names   []string
		opt     models.CompareOptions
		want    error
		wantMsg string
		reports int
	}{
		{"unknown model", context.Background(), []string{"threads", "nope"}, models.CompareOptions{}, nil, `unknown concurrency model "nope"`, 0},
		{"reset fails", context.Background(), []string{"sequential"}, models.CompareOptions{Reset: func() error { return errReset }}, errReset, "resetting", 0},
		{"canceled", canceled, []string{"sequential", "threads"}, models.CompareOptions{}, context.Canceled, "stopped", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reps, err := models.Compare(tt.ctx, task, tt.names, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Compare error = %v, want one saying %q (is %v)", err, tt.wantMsg, tt.want)
			}
			if len(reps) != tt.reports {
				t.Errorf("Compare returned %d reports, want %d", len(reps), tt.reports)
			}
		})
	}
}

func TestTable(t *testing.T) {
	ms := time.Millisecond
	threads := models.TraitsOf("threads")
	threads.Sharing = "x < y & z"
	reports := []models.Report{
		{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 1, Wall: 400 * ms, CPU: 400 * ms,
			Tasks: []models.TaskRecord{{Index: 0}, {Index: 1}, {Index: 2}, {Index: 3}}},
		{Model: "threads", Traits: threads, Workers: 2, Wall: 200 * ms, CPU: 400 * ms,
			Tasks: []models.TaskRecord{{Index: 0, Worker: 0}, {Index: 1, Worker: 1}, {Index: 2, Worker: 1, Err: "boom"}, {Index: 3, Worker: 1}}},
		{Model: "gil", Traits: models.TraitsOf("gil"), Workers: 4, Err: "gil: stopped after 1 of 4 tasks: context canceled", Wall: 10 * ms,
			Tasks: []models.TaskRecord{{Index: 0}}},
		{Model: "distributed", Traits: models.TraitsOf("distributed"), Workers: 2, Wall: 100 * ms, Notes: []string{"1 task(s) ran twice"},
			Tasks: []models.TaskRecord{{Index: 0, Worker: 0}, {Index: 1, Worker: 1}, {Index: 2, Worker: 1}, {Index: 3, Worker: 0}}},
	}
	text, html := models.Table(reports)
	for _, tt := range []struct {
		name, in, want string
	}{
		{"text header", text, "model"},
		{"speedup", text, "2.00x"},
		{"efficiency", text, "100%"},
		{"tasks per worker", text, "2.0 (1–3)"},
		{"task error", text, "1 task failed: boom"},
		{"run error", text, "stopped after 1 of 4 tasks"},
		{"wall ms", text, "400.0"},
		{"MSU", text, "machine instruction"},
		{"note", text, "note: distributed: 1 task(s) ran twice\n"},
		{"html note", html, "<p>note: distributed: 1 task(s) ran twice</p>"},
		{"html table", html, "<table>"},
		{"html escapes", html, "x &lt; y &amp; z"},
		{"html cell", html, "<td>2.00x</td>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.in, tt.want) {
				t.Errorf("Table output lacks %q; got:\n%s", tt.want, tt.in)
			}
		})
	}
	if strings.Contains(html, "<script") {
		t.Errorf("Table's HTML has a script:\n%s", html)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if n := len(lines); n != len(reports)+2 {
		t.Fatalf("Table's text has %d lines, want %d (header, one per report, one note)", n, len(reports)+2)
	}
	// A note is no failure: the distributed run's errors column is empty,
	// and its speedup shown.
	if dist := lines[4]; !strings.HasPrefix(dist, "distributed ") || !strings.HasSuffix(dist, "as JSON") || !strings.Contains(dist, "4.00x") {
		t.Errorf("the distributed row is %q; want a speedup and no error after its sharing", dist)
	}
}

func TestTableNotesContention(t *testing.T) {
	busy := models.Report{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2, Wall: time.Second, OtherCPU: 300 * time.Millisecond}
	quiet := models.Report{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 1, Wall: 2 * time.Second, OtherCPU: 10 * time.Millisecond}
	text, html := models.Table([]models.Report{quiet, busy})
	if !strings.Contains(text, "while threads ran, other programs on this machine used 300 ms of CPU (30% of a core)") {
		t.Errorf("no contention note for threads in:\n%s", text)
	}
	if strings.Contains(text, "while sequential ran") {
		t.Errorf("a quiet run got a contention note:\n%s", text)
	}
	if !strings.Contains(html, "<p>note: while threads ran") {
		t.Errorf("the HTML table lacks the note:\n%s", html)
	}
}

// The table names the machines a model's workers ran on, with their
// workers and finished tasks, unless they all ran on this one.
func TestHostsNote(t *testing.T) {
	here, err := os.Hostname()
	if err != nil {
		t.Skip("this machine has no host name to tell its workers apart by")
	}
	tasks := func(workers ...int) []models.TaskRecord {
		var out []models.TaskRecord
		for i, w := range workers {
			out = append(out, models.TaskRecord{Index: i, Worker: w})
		}
		return out
	}
	for _, tt := range []struct {
		name string
		r    models.Report
		want string
	}{
		{"no pool", models.Report{Model: "threads", Tasks: tasks(0, 1)}, ""},
		{"all on this machine", models.Report{Model: "distributed", Pool: []models.WorkerRecord{{Worker: 0, Host: here}, {Worker: 1, Host: here}}, Tasks: tasks(0, 1)}, ""},
		{"two other hosts", models.Report{Model: "distributed",
			Pool:  []models.WorkerRecord{{Worker: 0, Host: "hostb"}, {Worker: 1, Host: "hosta"}, {Worker: 2, Host: "hostb"}},
			Tasks: tasks(0, 0, 1, 2, 2)},
			"distributed: workers on hosta (1 worker, 1 task), hostb (2 workers, 4 tasks)"},
		{"one other host, a failed task", models.Report{Model: "distributed",
			Pool:  []models.WorkerRecord{{Worker: 0, Host: "hostb"}},
			Tasks: append(tasks(0), models.TaskRecord{Index: 1, Worker: 0, Err: "boom"})},
			"distributed: workers on hostb (1 worker, 1 task)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text, html := models.Table([]models.Report{tt.r})
			var got string
			for line := range strings.Lines(text) {
				if strings.HasPrefix(line, "note: "+tt.r.Model+": workers on") {
					got = strings.TrimSpace(strings.TrimPrefix(line, "note: "))
				}
			}
			if got != tt.want {
				t.Errorf("got note %q, want %q\n%s", got, tt.want, text)
			}
			if tt.want != "" && !strings.Contains(html, tt.want) {
				t.Errorf("the HTML table lacks the note %q", tt.want)
			}
		})
	}
}
