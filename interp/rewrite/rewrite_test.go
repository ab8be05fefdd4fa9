package rewrite

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"atonce/internal/gosrc"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txt from `go run` of the equivalent Go program")

// A testdata case is a file of sections, each starting with a line
// "-- name --":
//
//	before   an earlier cell's declarations (optional)
//	decls    the cell's declarations
//	stmts    the cell's top-level statements
//	imports  import paths Cell must report, one a line; the Go program imports them
//	notes    notes Cell must report, one a line
//	error    a substring of the error Cell must return (then nothing runs)
//	want     the output of the equivalent Go program, written by -update
type testCase struct {
	name     string
	file     string
	sections map[string]string
	order    []string
}

func readCase(t *testing.T, file string) *testCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCase{name: strings.TrimSuffix(filepath.Base(file), ".txt"), file: file, sections: map[string]string{}}
	cur := ""
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "-- ") && strings.HasSuffix(l, " --") {
			cur = strings.TrimSuffix(strings.TrimPrefix(l, "-- "), " --")
			tc.order = append(tc.order, cur)
			tc.sections[cur] = ""
			continue
		}
		if cur != "" {
			tc.sections[cur] += line
		}
	}
	return tc
}

func (tc *testCase) lines(name string) []string {
	var out []string
	for _, l := range strings.Split(tc.sections[name], "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (tc *testCase) write() error {
	var b strings.Builder
	for _, s := range tc.order {
		fmt.Fprintf(&b, "-- %s --\n%s", s, tc.sections[s])
	}
	return os.WriteFile(tc.file, []byte(b.String()), 0o644)
}

// goProgram is the case as one Go program for the real compiler.
func (tc *testCase) goProgram() string {
	var b strings.Builder
	b.WriteString("package main\n\n")
	for _, p := range tc.lines("imports") {
		fmt.Fprintf(&b, "import %q\n", p)
	}
	fmt.Fprintf(&b, "\n%s\n%s\nfunc main() {\n%s}\n", tc.sections["before"], tc.sections["decls"], tc.sections["stmts"])
	return b.String()
}

// testEnv answers Env from the interpreter, like the session does.
type testEnv struct {
	in    *interp.Interpreter
	names map[string]bool // declared types, funcs and imports
}

func (e *testEnv) Defined(name string) bool {
	if e.names[name] {
		return true
	}
	_, ok := e.in.Globals()[name]
	return ok
}

func (e *testEnv) KindOf(name string) (reflect.Kind, bool) {
	v, ok := e.in.Globals()[name]
	if !ok || !v.IsValid() {
		return reflect.Invalid, false
	}
	return v.Kind(), true
}

// cellRun is what happened to one cell.
type cellRun struct {
	res    Result
	err    error  // from Cell
	runErr error  // from the interpreter
	src    string // the rewritten code, for failure messages
}

// runCell parses decls and stmts as the session does, rewrites them and
// runs them in the interpreter behind env.
func runCell(ctx context.Context, env *testEnv, decls, stmts string) cellRun {
	var r cellRun
	fset := env.in.FileSet()
	file, err := parser.ParseFile(fset, "cell.go", "package main;/*line cell.go:1:1*/"+decls, parser.DeclarationErrors)
	if err != nil {
		r.runErr = err
		return r
	}
	wrapped, err := parser.ParseFile(fset, "cell.go", "package main; func main() {/*line cell.go:1:1*/"+stmts+"\n}", 0)
	if err != nil {
		r.runErr = err
		return r
	}
	body := wrapped.Decls[0].(*ast.FuncDecl).Body
	r.res, r.err = Cell(fset, file.Decls, body.List, env)
	if r.err != nil {
		return r
	}
	body.List = r.res.Stmts
	var src bytes.Buffer
	printer.Fprint(&src, fset, file)
	src.WriteString("\n// statements\n")
	printer.Fprint(&src, fset, body)
	r.src = src.String()

	// Imports are file-scoped in yaegi (keyed by the file name of the
	// node's position), so they are compiled as a file named like the cell.
	if len(r.res.Imports) > 0 {
		src := "package main\n"
		for _, p := range r.res.Imports {
			src += fmt.Sprintf("import %q\n", p)
		}
		f, err := parser.ParseFile(fset, "cell.go", src, 0)
		if err == nil {
			err = compileRun(ctx, env.in, f)
		}
		if err != nil {
			r.runErr = fmt.Errorf("importing %q: %w", r.res.Imports, err)
			return r
		}
	}
	for _, src := range r.res.Prelude {
		if _, err := env.in.EvalWithContext(ctx, src); err != nil {
			r.runErr = fmt.Errorf("evaluating %q: %w", src, err)
			return r
		}
	}
	if len(r.res.Prelude) > 0 {
		env.names[PreludeSentinel] = true
	}
	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				env.names[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					env.names[s.Name.Name] = true
				case *ast.ImportSpec:
					im, _ := gosrc.ImportOf(s)
					env.names[im.Name] = true
				}
			}
		}
	}
	for _, n := range []ast.Node{file, body} {
		if n == file && len(file.Decls) == 0 || n == body && len(body.List) == 0 {
			continue
		}
		if err := compileRun(ctx, env.in, n); err != nil {
			r.runErr = err
			return r
		}
	}
	return r
}

func compileRun(ctx context.Context, in *interp.Interpreter, n ast.Node) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("interpreter panic: %v", p)
		}
	}()
	prog, err := in.CompileAST(n)
	if err != nil {
		return err
	}
	_, err = in.ExecuteWithContext(ctx, prog)
	return err
}

func newEnv(out *bytes.Buffer) *testEnv {
	in := interp.New(interp.Options{Stdout: out})
	if err := in.Use(stdlib.Symbols); err != nil {
		panic(err)
	}
	return &testEnv{in: in, names: map[string]bool{}}
}

func TestCells(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		tc := readCase(t, file)
		t.Run(tc.name, func(t *testing.T) {
			if *update {
				updateWant(t, tc)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out bytes.Buffer
			env := newEnv(&out)
			if before := tc.sections["before"]; before != "" {
				if r := runCell(ctx, env, before, ""); r.err != nil || r.runErr != nil {
					t.Fatalf("before cell: %v %v", r.err, r.runErr)
				}
			}
			r := runCell(ctx, env, tc.sections["decls"], tc.sections["stmts"])
			if wantErr, ok := tc.sections["error"]; ok {
				wantErr = strings.TrimSpace(wantErr)
				if r.err == nil || !strings.Contains(r.err.Error(), wantErr) {
					t.Fatalf("Cell error: got %v, want one containing %q", r.err, wantErr)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("Cell: got error %v, want none", r.err)
			}
			if got, want := r.res.Imports, tc.lines("imports"); !slices.Equal(got, want) {
				t.Errorf("Imports: got %q, want %q", got, want)
			}
			if got, want := r.res.Notes, tc.lines("notes"); !slices.Equal(got, want) {
				t.Errorf("Notes: got %q, want %q", got, want)
			}
			if r.runErr != nil {
				t.Fatalf("running the rewritten cell: %v\n%s", r.runErr, r.src)
			}
			if got, want := out.String(), tc.sections["want"]; got != want {
				t.Errorf("output: got\n%s\nwant (go run)\n%s\nrewritten:\n%s", got, want, r.src)
			}
		})
	}
}

// updateWant runs the case's Go program with the real toolchain and stores
// its output as the case's want section.
func updateWant(t *testing.T, tc *testCase) {
	if _, ok := tc.sections["error"]; ok {
		return
	}
	dir := t.TempDir()
	for name, text := range map[string]string{"main.go": tc.goProgram(), "go.mod": "module cell\n\ngo 1.26\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go run: %v\n%s\n%s", err, stderr, tc.goProgram())
	}
	if _, ok := tc.sections["want"]; !ok {
		tc.order = append(tc.order, "want")
	}
	tc.sections["want"] = string(out)
	if err := tc.write(); err != nil {
		t.Fatal(err)
	}
}

// TestPlainLoopsUntouched checks that loops whose variables cannot outlive
// an iteration are left exactly as written.
func TestPlainLoopsUntouched(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		changed   bool
	}{
		{"range sum", "for _, v := range xs { sum += v }", false},
		{"three-clause sum", "for i := 0; i < len(xs); i++ { sum += xs[i] }", false},
		{"closure not using var", "for i := 0; i < 3; i++ { f := func() int { return sum }; sum += f() }", false},
		{"shadowed in closure", "for _, v := range xs { f := func(v int) int { return v }; sum += f(v) }", false},
		{"closure over copy", "for _, v := range xs { w := v; fs = append(fs, func() int { return w }) }", false},
		{"closure over var", "for _, v := range xs { fs = append(fs, func() int { return v }) }", true},
		{"address", "for i := 0; i < 3; i++ { ps = append(ps, &i) }", true},
		{"go statement", "for _, v := range xs { go work(v) }", true},
		{"nested inner captures", "for i := 0; i < 3; i++ { for j := 0; j < 3; j++ { fs = append(fs, func() int { return j }) } }", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			src := "package main; func main() {" + tt.src + "}"
			before := printStmts(t, fset, src, false)
			after := printStmts(t, fset, src, true)
			if got := before != after; got != tt.changed {
				t.Errorf("rewritten: got %v, want %v\nbefore: %s\nafter:  %s", got, tt.changed, before, after)
			}
		})
	}
}

func printStmts(t *testing.T, fset *token.FileSet, src string, rewrite bool) string {
	t.Helper()
	f, err := parser.ParseFile(fset, "cell.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	body := f.Decls[0].(*ast.FuncDecl).Body
	if rewrite {
		res, err := Cell(fset, nil, body.List, nil)
		if err != nil {
			t.Fatal(err)
		}
		body.List = res.Stmts
	}
	var b bytes.Buffer
	printer.Fprint(&b, fset, body)
	return b.String()
}

// TestPositions checks that user code keeps its positions: an error in a
// rewritten loop still points at the user's line and column.
func TestPositions(t *testing.T) {
	for _, tt := range []struct {
		name, stmts, want string
	}{
		{"range int body", "for i := range 3 {\n\tx := undefinedName + i\n}", "cell.go:2:7"},
		{"captured loop", "for i := 0; i < 3; i++ {\n\tgo func() { _ = i }()\n\ty := nope\n}", "cell.go:3:7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			env := newEnv(&out)
			r := runCell(context.Background(), env, "", tt.stmts)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.runErr == nil || !strings.Contains(r.runErr.Error(), tt.want) {
				t.Errorf("error: got %v, want one at %s", r.runErr, tt.want)
			}
		})
	}
}
