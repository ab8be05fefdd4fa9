package models_test

import (
	"strings"
	"testing"
	"time"

	"atonce/models"
)

func TestStateTable(t *testing.T) {
	const ms = time.Millisecond
	span := func(state, kind string, a, b time.Duration) models.Span {
		return models.Span{State: state, Kind: kind, Start: a * ms, End: b * ms}
	}
	reports := []models.Report{
		{Model: "sequential", Tasks: []models.TaskRecord{{States: []models.Span{
			span(models.Running, "", 0, 30), span(models.Blocked, models.KindAwait, 30, 40),
		}}}},
		{Model: "gil", Tasks: []models.TaskRecord{
			{States: []models.Span{span(models.Running, "", 0, 10), span(models.Waiting, models.KindGIL, 10, 40)}},
			{States: []models.Span{span(models.Blocked, models.KindMutex, 0, 10), span(models.Running, "", 10, 20)}},
		}},
		{Model: "processes"}, // not traced: left out
	}
	text, html := models.StateTable(reports)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	want := [][]string{
		{"time in state", "sequential", "gil"},
		{"running", "30.0 (75%)", "20.0 (33%)"},
		{"waiting for the GIL", "", "30.0 (50%)"},
		{"blocked at an await (sleep, I/O)", "10.0 (25%)", ""},
		{"blocked on a mutex (sync)", "", "10.0 (17%)"},
	}
	if len(lines) != 1+len(want) {
		t.Fatalf("StateTable text has %d lines, want a title and %d:\n%s", len(lines), len(want), text)
	}
	for i, w := range want {
		line := lines[i+1]
		at := 0
		for _, cell := range w {
			k := strings.Index(line[at:], cell)
			if k < 0 {
				t.Errorf("line %d %q lacks %q after column %d", i+1, line, cell, at)
				break
			}
			at += k + len(cell)
		}
	}
	if strings.Contains(text, "processes") || strings.Contains(html, "processes") {
		t.Errorf("a report without states has a column:\n%s", text)
	}
	for _, cell := range []string{"<td>waiting for the GIL</td><td></td><td>30.0 (50%)</td>", "<th>gil</th>"} {
		if !strings.Contains(html, cell) {
			t.Errorf("the HTML lacks %q:\n%s", cell, html)
		}
	}
	if text, html := models.StateTable(reports[2:]); text != "" || html != "" {
		t.Errorf("StateTable of untraced reports = %q, %q; want nothing", text, html)
	}
}
