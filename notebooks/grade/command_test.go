package grade_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"atonce/install/installtest"
	"atonce/notebooks/ipynb"
)

// TestCommands runs `atonce assign` and `atonce grade` as a teacher would:
// release the student version, grade it as JSON with the teacher's tests
// and with its outputs written; and the commands' answers to bad input.
func TestCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts engines: skipped with -short")
	}
	bin := installtest.Binary(t)
	dir := t.TempDir()
	teacher := filepath.Join(dir, "every-outcome.ipynb")
	b, err := os.ReadFile("testdata/every-outcome.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(teacher, b, 0o644); err != nil {
		t.Fatal(err)
	}
	atonce := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}

	out, errOut, code := atonce("assign", teacher)
	student := filepath.Join(dir, "every-outcome-student.ipynb")
	if code != 0 || !strings.Contains(out, "wrote the student version of "+teacher+" to "+student) {
		t.Fatalf("atonce assign: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	nb, err := ipynb.Read(student)
	if err != nil {
		t.Fatal(err)
	}
	if src := nb.Cells[nb.ByGradeID("double")].Source(); !strings.Contains(src, "// YOUR CODE HERE\n\tpanic(\"not implemented\")") {
		t.Errorf("student version of double: got %q", src)
	}

	graded := filepath.Join(dir, "graded.ipynb")
	out, errOut, code = atonce("grade", student, "-json", "-source", teacher, "-timeout", "5s", "-o", graded)
	var res struct {
		Score    float64 `json:"score"`
		MaxScore float64 `json:"max_score"`
		Graded   []struct {
			GradeID string `json:"grade_id"`
			Status  string `json:"status"`
		} `json:"graded"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("atonce grade -json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if res.Score != 0 || res.MaxScore != 6 || len(res.Graded) != 6 || res.Graded[0].GradeID != "ex1" || res.Graded[0].Status != "error" {
		t.Errorf("atonce grade -json: got %s", out)
	}
	if b, err := os.ReadFile(graded); err != nil || !strings.Contains(string(b), `"ename": "Timeout"`) {
		t.Errorf("the graded notebook: %v, %.200s", err, b)
	}

	for _, tt := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"assign onto the teacher's notebook", []string{"assign", teacher, "-o", teacher}, 2, "is the teacher's notebook"},
		{"assign without a notebook", []string{"assign"}, 2, "usage: atonce assign NOTEBOOK"},
		{"assign a missing file", []string{"assign", filepath.Join(dir, "none.ipynb")}, 1, "no such file"},
		{"grade with a missing teacher's version", []string{"grade", filepath.Join(dir, "graded.ipynb"), "-source", filepath.Join(dir, "none.ipynb")}, 1, "no such file"},
		{"grade two notebooks", []string{"grade", teacher, student}, 2, "usage: atonce grade NOTEBOOK"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := atonce(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("atonce %v: exit %d, stderr %q; want exit %d saying %q", tt.args, code, errOut, tt.code, tt.wantErr)
			}
		})
	}
}
