package ipynb_test

import (
	"encoding/json"
	"strings"
	"testing"

	"atonce/notebooks/ipynb"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, in, wantErr string
		sources           []string
	}{
		{"sources as lines and as a string",
			`{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
				{"cell_type": "code", "metadata": {}, "source": ["a := 1\n", "a++"], "outputs": [], "execution_count": null},
				{"cell_type": "markdown", "metadata": {}, "source": "# Title"}]}`, "", []string{"a := 1\na++", "# Title"}},
		{"not JSON", `{"cells": [`, "not a notebook (its JSON does not read", nil},
		{"nbformat 3", `{"nbformat": 3, "worksheets": []}`, "not a notebook of nbformat 4", nil},
		{"a cell without a type", `{"nbformat": 4, "cells": [{"source": "x"}]}`, "cell 1 has no cell_type", nil},
		{"a source of numbers", `{"nbformat": 4, "cells": [{"cell_type": "code", "source": [1, 2]}]}`, "cell 1: its source is neither a string nor a list of lines", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nb, err := ipynb.Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.sources {
				if got := nb.Cells[i].Source(); got != want {
					t.Errorf("cell %d: source got %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

// TestMarshal: what atonce does not know comes back as it was, written
// the way Jupyter writes notebooks.
func TestMarshal(t *testing.T) {
	in := `{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"language": "go", "name": "atonce"}, "custom": [1, "<b>"]},
		"cells": [{"cell_type": "code", "id": "c1", "metadata": {"tags": ["x"]}, "source": "fmt.Println(\"<a & b>\")\nx := 1\n",
			"outputs": [{"output_type": "stream", "name": "stdout", "text": "<a & b>\n"}], "execution_count": 4, "attachments": {}}]}`
	nb, err := ipynb.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	b, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		"{\n \"cells\": [\n  {\n   \"attachments\": {},\n   \"cell_type\": \"code\",", // keys sorted, one space of indent
		`"source": "fmt.Println(\"<a & b>\")\nx := 1\n"`,                              // no HTML escaping; the source as read
		`"custom": [`, `"<b>"`, `"tags": [`, `"execution_count": 4`, `"nbformat_minor": 5`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Marshal:\n%s\nwant it to hold %s", out, want)
		}
	}
	if !strings.HasSuffix(out, "}\n") {
		t.Errorf("Marshal: want a final newline")
	}
	if nb.Language() != "go" {
		t.Errorf("Language: got %q, want go", nb.Language())
	}

	c := nb.Cells[0]
	c.SetSource("a\nb\n")
	c.ClearOutputs()
	if err := c.SetMetadata("editable", false); err != nil {
		t.Fatal(err)
	}
	b, _ = nb.Marshal()
	var back struct {
		Cells []struct {
			Source   []string        `json:"source"`
			Outputs  []any           `json:"outputs"`
			Count    *int            `json:"execution_count"`
			Metadata map[string]any  `json:"metadata"`
			Attach   json.RawMessage `json:"attachments"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got := back.Cells[0]
	if strings.Join(got.Source, "|") != "a\n|b\n" || len(got.Outputs) != 0 || got.Count != nil ||
		got.Metadata["editable"] != false || got.Metadata["tags"] == nil || string(got.Attach) != "{}" {
		t.Errorf("after the changes: got %+v", got)
	}
}

func TestNbgrader(t *testing.T) {
	for _, tt := range []struct {
		name, typ, meta, wantErr string
		want                     ipynb.Nbgrader
		has                      bool
	}{
		{"none", "code", `{}`, "", ipynb.Nbgrader{}, false},
		{"a graded cell", "code", `{"nbgrader": {"grade": true, "grade_id": "ex1-check", "locked": true, "points": 2, "solution": false, "schema_version": 3}}`, "",
			ipynb.Nbgrader{Grade: true, GradeID: "ex1-check", Locked: true, SchemaVersion: 3}, true},
		{"version 4", "code", `{"nbgrader": {"grade": false, "grade_id": "a", "locked": true, "solution": false, "schema_version": 4}}`, "",
			ipynb.Nbgrader{GradeID: "a", Locked: true, SchemaVersion: 4}, true},
		{"no grade_id", "code", `{"nbgrader": {"grade": false, "locked": false, "solution": true, "schema_version": 3}}`, "has no grade_id", ipynb.Nbgrader{}, true},
		{"a bad grade_id", "code", `{"nbgrader": {"grade": false, "grade_id": "ex 1", "locked": true, "solution": false, "schema_version": 3}}`, `grade_id "ex 1" has characters`, ipynb.Nbgrader{}, true},
		{"no points", "code", `{"nbgrader": {"grade": true, "grade_id": "a", "locked": true, "solution": false, "schema_version": 3}}`, "gives no points", ipynb.Nbgrader{}, true},
		{"negative points", "code", `{"nbgrader": {"grade": true, "grade_id": "a", "points": -1, "locked": true, "solution": false, "schema_version": 3}}`, "negative points", ipynb.Nbgrader{}, true},
		{"a graded markdown cell that is no answer", "markdown", `{"nbgrader": {"grade": true, "grade_id": "a", "points": 1, "locked": false, "solution": false, "schema_version": 3}}`, "graded or a solution but not both", ipynb.Nbgrader{}, true},
		{"a code task", "code", `{"nbgrader": {"grade": false, "grade_id": "a", "locked": true, "solution": false, "task": true, "schema_version": 3}}`, "task cells are markdown", ipynb.Nbgrader{}, true},
		{"an old schema", "code", `{"nbgrader": {"grade": false, "grade_id": "a", "locked": true, "solution": false, "schema_version": 2}}`, "schema_version 2", ipynb.Nbgrader{}, true},
		{"not an object", "code", `{"nbgrader": 3}`, `its metadata "nbgrader" does not read`, ipynb.Nbgrader{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nb, err := ipynb.Parse([]byte(`{"nbformat": 4, "cells": [{"cell_type": "` + tt.typ + `", "source": "x", "metadata": ` + tt.meta + `}]}`))
			if err != nil {
				t.Fatal(err)
			}
			got, has, err := nb.Cells[0].Nbgrader()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			got.Points = nil
			if err != nil || has != tt.has || got != tt.want {
				t.Errorf("got %+v, %v, %v; want %+v, %v", got, has, err, tt.want, tt.has)
			}
		})
	}
}
