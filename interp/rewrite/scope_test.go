package rewrite

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"strings"
	"testing"
)

func TestScopeCompound(t *testing.T) {
	src := "package p\nfunc _() {\nx := 1\nfor i := 0; i < 2; i++ {\n\ta, b := f()\n}\nif v, ok := m[1]; ok {\n}\n{\n\ty := 2\n}\nfmt.Println(x)\nfor {\n\tgoto end\n}\nend:\n}"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	body := f.Decls[0].(*ast.FuncDecl).Body
	body.List = ScopeCompound(body.List)
	var kinds []string
	for _, s := range body.List {
		switch x := s.(type) {
		case *ast.ExprStmt:
			if call, ok := x.X.(*ast.CallExpr); ok && len(call.Args) == 0 && isFuncLit(call.Fun) {
				kinds = append(kinds, "scoped")
			} else {
				kinds = append(kinds, "expr")
			}
		case *ast.AssignStmt:
			kinds = append(kinds, "assign")
		case *ast.ForStmt:
			kinds = append(kinds, "for")
		case *ast.LabeledStmt:
			kinds = append(kinds, "label")
		}
	}
	// x := 1 defines a package-level name and stays; the loop, the if
	// and the block are scoped; the call is the cell's value; a loop with
	// a goto is left alone.
	if got, want := strings.Join(kinds, " "), "assign scoped scoped scoped expr for label"; got != want {
		t.Errorf("statements got %q, want %q", got, want)
	}
	var out strings.Builder
	if err := printer.Fprint(&out, fset, f); err != nil {
		t.Fatal(err)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "", out.String(), 0); err != nil {
		t.Errorf("the rewritten code does not parse: %v\n%s", err, out.String())
	}
	// Positions stay the user's: the wrapped loop starts where the loop did.
	if got := fset.Position(body.List[1].Pos()).Line; got != 4 {
		t.Errorf("wrapped loop starts on line %d, want 4", got)
	}
}

func isFuncLit(e ast.Expr) bool {
	_, ok := e.(*ast.FuncLit)
	return ok
}
