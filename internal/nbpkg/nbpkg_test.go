package nbpkg

import (
	"go/ast"
	"go/importer"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// decls lists what the package declares, file by file, as "cellN kind name".
func decls(p *Package) []string {
	var out []string
	for _, f := range p.Files {
		for _, d := range f.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				key, _, _ := FuncKey(d)
				if key == "" {
					key = d.Name.Name
				}
				out = append(out, cellName(f)+" func "+key)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ImportSpec:
						name := ""
						if s.Name != nil {
							name = s.Name.Name + " "
						}
						out = append(out, cellName(f)+" import "+name+s.Path.Value)
					case *ast.TypeSpec:
						out = append(out, cellName(f)+" type "+s.Name.Name)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							out = append(out, cellName(f)+" "+d.Tok.String()+" "+n.Name)
						}
					}
				}
			}
		}
	}
	return out
}

func cellName(f *File) string { return "cell" + string(rune('0'+f.Cell)) }

func TestLoad(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cells []string
		want  []string
		blank []string
	}{
		{
			name:  "lifted statements",
			cells: []string{"x := 1\nfmt.Println(x)\nvar y, z = 2, 3\ntype T struct{}"},
			want:  []string{"cell1 var x", "cell1 var y", "cell1 var z", "cell1 type T"},
		},
		{
			name:  "last definition wins",
			cells: []string{"func f() int { return 1 }\nx := 1", "func f() int { return 2 }", "x := \"s\"\nfunc (T) M() {}\ntype T int"},
			want:  []string{"cell1 var _", "cell2 func f", "cell3 var x", "cell3 func T.M", "cell3 type T"},
		},
		{
			name:  "imports where used",
			cells: []string{"import r \"math/rand\"\nimport _ \"image/png\"", "func f() int { return r.Intn(3) }", "func g() { time.Sleep(1) }", "func h() {}"},
			want:  []string{"cell2 import r \"math/rand\"", "cell2 func f", "cell3 import \"time\"", "cell3 func g", "cell4 func h"},
			blank: []string{"image/png"},
		},
		{
			name:  "dot imports everywhere",
			cells: []string{"import . \"math\"", "func f() float64 { return Sqrt(2) }"},
			want:  []string{"cell1 import . \"math\"", "cell2 import . \"math\"", "cell2 func f"},
		},
		{
			name:  "magics and broken cells left out",
			cells: []string{"%%time\nfunc f() {}", "func g( {", "fmt?\nvar v int"},
			want:  []string{"cell1 func f", "cell3 var v"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Load(tt.cells)
			if got := decls(p); !slices.Equal(got, tt.want) {
				t.Errorf("declarations: got %q, want %q", got, tt.want)
			}
			if !slices.Equal(p.Blank, tt.blank) {
				t.Errorf("blank imports: got %q, want %q", p.Blank, tt.blank)
			}
		})
	}
}

func TestIgnoredAndPositions(t *testing.T) {
	p := Load([]string{"func f( {", "\n\n  x := 1"})
	if len(p.Ignored) != 1 || !strings.HasPrefix(p.Ignored[0], "cell 1 does not parse: line 1") {
		t.Errorf("Ignored: got %q, want one entry for cell 1", p.Ignored)
	}
	spec := p.Files[0].AST.Decls[0].(*ast.GenDecl).Specs[0].(*ast.ValueSpec)
	if c, l, col := p.Position(spec.Names[0].Pos()); c != 2 || l != 3 || col != 3 {
		t.Errorf("Position of x: got cell %d line %d col %d, want cell 2 line 3 col 3", c, l, col)
	}
	if got := p.FileOf(spec.Names[0].Pos()).Text(spec.Values[0]); got != "1" {
		t.Errorf("Text: got %q, want %q", got, "1")
	}
	if p.FileOf(token.NoPos) != nil {
		t.Errorf("FileOf(NoPos) is a file")
	}
}

func TestCheck(t *testing.T) {
	p := Load([]string{"type P struct{ X int }\nps := []P{{1}}", "func f() { unused := 1 }"})
	if !p.Check(importer.ForCompiler(p.Fset, "source", nil)) {
		t.Fatal("Check gave up")
	}
	obj := p.Types.Scope().Lookup("ps")
	if obj == nil || obj.Type().String() != "[]main.P" {
		t.Errorf("ps: got %v, want a var of type []main.P", obj)
	}
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Msg, "declared and not used") {
		t.Errorf("Errors: got %v, want the unused variable", p.Errors)
	}
}
