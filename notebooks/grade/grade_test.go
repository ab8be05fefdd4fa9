package grade_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"atonce/install/installtest"
	"atonce/internal/leakcheck"
	"atonce/notebooks/assign"
	"atonce/notebooks/grade"
	"atonce/notebooks/ipynb"
)

// run grades nb in a fresh engine of the atonce binary under test and
// checks that the engine is gone afterwards.
func run(t *testing.T, nb *ipynb.Notebook, opt grade.Options) *grade.Result {
	t.Helper()
	opt.EngineCommand = []string{installtest.Binary(t), "engine"}
	snap := leakcheck.Goroutines()
	res, err := grade.Run(context.Background(), nb, opt)
	if err != nil {
		t.Fatalf("grade.Run: %v", err)
	}
	snap.Check(t)
	if kids, err := leakcheck.Children(); err == nil && len(kids) > 0 {
		t.Errorf("processes left behind: %v", kids)
	}
	return res
}

func read(t *testing.T, path string) *ipynb.Notebook {
	t.Helper()
	nb, err := ipynb.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

// edit returns a copy of nb with the cell of grade_id id given src, or
// removed when src is "".
func edit(t *testing.T, nb *ipynb.Notebook, id, src string) *ipynb.Notebook {
	t.Helper()
	nb = nb.Clone()
	i := nb.ByGradeID(id)
	if i < 0 {
		t.Fatalf("no cell %s", id)
	}
	if src == "" {
		nb.Cells = append(nb.Cells[:i], nb.Cells[i+1:]...)
	} else {
		nb.Cells[i].SetSource(src)
	}
	return nb
}

// TestRun grades a notebook with one graded cell of every outcome: as the
// teacher wrote it, as assign releases it, and changed by a student (tests
// edited, a cell deleted, a graded cell of their own), with and without
// the teacher's version to put the tests back.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts engines: skipped with -short")
	}
	teacher := read(t, "testdata/every-outcome.ipynb")
	student, err := assign.Release(teacher)
	if err != nil {
		t.Fatal(err)
	}
	// A student who made ex2's test pass, deleted the cells that never
	// end and the last check, and added a graded cell of their own.
	tampered := edit(t, teacher, "ex2", `check.Equal("one and one", 1+1, 2)`)
	tampered = edit(t, tampered, "ex4", "")
	tampered = edit(t, tampered, "ex5", "")
	bonus := tampered.Cells[tampered.ByGradeID("ex1")].Clone()
	bonus.SetSource(`fmt.Println("free points")`)
	if err := bonus.SetMetadata("nbgrader", map[string]any{"grade": true, "grade_id": "bonus", "locked": true, "points": 100, "schema_version": 3, "solution": false}); err != nil {
		t.Fatal(err)
	}
	tampered.Cells = append(tampered.Cells, bonus)

	for _, tt := range []struct {
		name       string
		nb, source *ipynb.Notebook
		want       map[string]string // grade_id: status
		score, max float64
	}{
		{"as the teacher wrote it", teacher, nil,
			map[string]string{"ex1": grade.Passed, "ex2": grade.Failed, "ex3": grade.Errored, "ex4": grade.Errored, "ex5": grade.Passed, "why": grade.Manual}, 3, 6},
		{"the student version, graded with the teacher's tests", student, teacher,
			map[string]string{"ex1": grade.Errored, "ex2": grade.Failed, "ex3": grade.Errored, "ex4": grade.Errored, "ex5": grade.Errored, "why": grade.Manual}, 0, 6},
		{"tests changed by the student, graded as submitted", tampered, nil,
			map[string]string{"ex1": grade.Passed, "ex2": grade.Passed, "ex3": grade.Errored, "bonus": grade.Passed, "why": grade.Manual}, 103, 104},
		{"tests changed by the student, graded with the teacher's tests", tampered, teacher,
			map[string]string{"ex1": grade.Passed, "ex2": grade.Failed, "ex3": grade.Errored, "ex4": grade.Missing, "ex5": grade.Missing, "why": grade.Manual}, 2, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, tt.nb, grade.Options{Source: tt.source, CellTimeout: 5 * time.Second})
			got := map[string]string{}
			for _, g := range res.Graded {
				got[g.GradeID] = g.Status
			}
			for id, want := range tt.want {
				if got[id] != want {
					t.Errorf("%s: status got %q, want %q", id, got[id], want)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("graded cells: got %v, want %v", got, tt.want)
			}
			if res.Score != tt.score || res.MaxScore != tt.max {
				t.Errorf("score: got %v of %v, want %v of %v", res.Score, res.MaxScore, tt.score, tt.max)
			}
			if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Evalue, "a cell that is not graded fails") {
				t.Errorf("errors of cells that are not graded: got %+v, want the one panic", res.Errors)
			}
			if t.Failed() {
				t.Logf("report:\n%s", res.Text("every-outcome.ipynb"))
			}
		})
	}
}

// TestReport: why a cell failed reaches the report, text and JSON, and the
// graded notebook keeps each cell's outputs.
func TestReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts engines: skipped with -short")
	}
	res := run(t, read(t, "testdata/every-outcome.ipynb"), grade.Options{CellTimeout: 5 * time.Second})
	text := res.Text("every-outcome.ipynb")
	for _, want := range []string{
		"every-outcome.ipynb: 3 of 6 points",
		"ex1  Exercise 1 — double",
		"2 of 2  passed",
		"failed: CheckFailed: one and one: got 2, want 3 (hint: count again)",
		"error: CompileError:",
		"error: Timeout: the cell ran longer than 5s and was interrupted",
		"? of 2  manual: a teacher grades this answer",
		"errors in cells that are not graded:",
		"panic: a cell that is not graded fails",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text report:\n%s\nwant it to hold %q", text, want)
		}
	}
	b, err := res.JSON("every-outcome.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Notebook string         `json:"notebook"`
		Score    float64        `json:"score"`
		MaxScore float64        `json:"max_score"`
		Graded   []grade.Graded `json:"graded"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("JSON report does not read: %v\n%s", err, b)
	}
	if back.Notebook != "every-outcome.ipynb" || back.Score != 3 || back.MaxScore != 6 || len(back.Graded) != 6 ||
		back.Graded[1].Error == nil || back.Graded[1].Error.Ename != "CheckFailed" || back.Graded[0].Title != "Exercise 1 — double" {
		t.Errorf("JSON report: got %s", b)
	}
	// The graded notebook: the check's output and the error are in their cells.
	out, err := res.Notebook.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"text": "✓ double(2): 4\n✓ double(-3): -6\n"`, `"ename": "CheckFailed"`, `"ename": "Timeout"`, `"execution_count": 1`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("graded notebook: want it to hold %s", want)
		}
	}
}

// TestRunRefuses: notebooks that cannot be graded say why, and start no
// engine.
func TestRunRefuses(t *testing.T) {
	teacher := read(t, "testdata/every-outcome.ipynb")
	dup := edit(t, teacher, "ex3", "fmt.Println(3)")
	var m map[string]any
	if _, err := dup.Cells[dup.ByGradeID("ex3")].Metadata("nbgrader", &m); err != nil {
		t.Fatal(err)
	}
	m["grade_id"] = "ex2"
	if err := dup.Cells[dup.ByGradeID("ex3")].SetMetadata("nbgrader", m); err != nil {
		t.Fatal(err)
	}
	python, err := ipynb.Parse([]byte(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"language": "python"}}, "cells": []}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		nb      *ipynb.Notebook
		opt     grade.Options
		wantErr string
	}{
		{"two cells with one grade_id", dup, grade.Options{EngineCommand: []string{"/nonexistent"}}, `have the same grade_id "ex2"`},
		{"the teacher's version is broken", teacher, grade.Options{EngineCommand: []string{"/nonexistent"}, Source: dup}, `the teacher's version: cell`},
		{"another language", python, grade.Options{EngineCommand: []string{"/nonexistent"}}, `kernel language is "python"`},
		{"no engine", teacher, grade.Options{}, "no engine command"},
		{"an engine that does not start", teacher, grade.Options{EngineCommand: []string{"/nonexistent/atonce", "engine"}}, "starting a fresh engine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := grade.Run(context.Background(), tt.nb, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}
