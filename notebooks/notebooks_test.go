// Package notebooks holds atonce's tour and classroom notebooks. Its test
// executes every notebook with a real Jupyter client (nbconvert) and
// checks each cell against what its metadata says it must show, so the
// notebooks never rot.
package notebooks

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"atonce/install/installtest"
)

// notebook is the part of an .ipynb file the checks read.
type notebook struct {
	Cells []struct {
		CellType string          `json:"cell_type"`
		Source   json.RawMessage `json:"source"`
		Metadata struct {
			Atonce struct {
				Expect      []string `json:"expect"`
				ExpectError string   `json:"expect_error"`
			} `json:"atonce"`
		} `json:"metadata"`
		Outputs []struct {
			OutputType string          `json:"output_type"`
			Text       json.RawMessage `json:"text"`
			Data       map[string]any  `json:"data"`
			Ename      string          `json:"ename"`
			Evalue     string          `json:"evalue"`
			Traceback  []string        `json:"traceback"`
		} `json:"outputs"`
	} `json:"cells"`
}

// text joins nbformat's string-or-list-of-strings field.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var l []string
	_ = json.Unmarshal(raw, &l)
	return strings.Join(l, "")
}

func TestNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("executes notebooks with real kernels: skipped with -short")
	}
	py := installtest.Python(t)
	env := installtest.KernelEnv(t)
	paths, err := filepath.Glob("*.ipynb")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no notebooks found: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(path, ".ipynb"), func(t *testing.T) {
			outDir := t.TempDir()
			cmd := exec.Command(py, "-m", "nbconvert", "--to", "notebook", "--execute",
				"--ExecutePreprocessor.kernel_name=atonce", "--ExecutePreprocessor.timeout=300",
				"--output-dir", outDir, path)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nbconvert --execute %s: %v\n%s", path, err, out)
			}
			b, err := os.ReadFile(filepath.Join(outDir, filepath.Base(path)))
			if err != nil {
				t.Fatal(err)
			}
			var nb notebook
			if err := json.Unmarshal(b, &nb); err != nil {
				t.Fatal(err)
			}
			checked := 0
			for i, c := range nb.Cells {
				if c.CellType != "code" {
					continue
				}
				var shown, errors strings.Builder
				for _, o := range c.Outputs {
					switch o.OutputType {
					case "stream":
						shown.WriteString(text(o.Text))
					case "execute_result", "display_data":
						for mime, v := range o.Data {
							if strings.HasPrefix(mime, "text/") {
								fmt.Fprint(&shown, v)
							}
						}
					case "error":
						fmt.Fprintf(&errors, "%s: %s\n%s\n", o.Ename, o.Evalue, strings.Join(o.Traceback, "\n"))
					}
				}
				want := c.Metadata.Atonce
				cell := fmt.Sprintf("cell %d (%.40q)", i, text(c.Source))
				if want.ExpectError == "" && errors.Len() > 0 {
					t.Errorf("%s: unexpected error:\n%s", cell, errors.String())
				}
				if want.ExpectError != "" {
					checked++
					if !strings.Contains(errors.String(), want.ExpectError) {
						t.Errorf("%s: error got %q, want one mentioning %q", cell, errors.String(), want.ExpectError)
					}
				}
				for _, w := range want.Expect {
					checked++
					if !strings.Contains(shown.String(), w) {
						t.Errorf("%s: output got %q, want it to contain %q", cell, shown.String(), w)
					}
				}
			}
			if checked == 0 {
				t.Errorf("%s has no checked cells: give its cells atonce.expect metadata", path)
			}
		})
	}
}

// TestFailedCheckFailsNbconvert: an exercise's check that does not hold
// fails its cell for a Jupyter client, so `nbconvert --execute` fails and
// says why, as grading tools built on nbclient see it.
func TestFailedCheckFailsNbconvert(t *testing.T) {
	if testing.Short() {
		t.Skip("executes a notebook with a real kernel: skipped with -short")
	}
	cmd := exec.Command(installtest.Python(t), "-m", "nbconvert", "--to", "notebook", "--execute",
		"--ExecutePreprocessor.kernel_name=atonce", "--ExecutePreprocessor.timeout=60",
		"--output-dir", t.TempDir(), filepath.Join("testdata", "failed-check.ipynb"))
	cmd.Env = installtest.KernelEnv(t)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("nbconvert --execute succeeded on a notebook whose check fails:\n%s", out)
	}
	for _, want := range []string{"CheckFailed", "one and one: got 2, want 3", "hint: count again"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("nbconvert's output:\n%s\nwant it to hold %q", out, want)
		}
	}
}
