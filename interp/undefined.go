package interp

import (
	"go/ast"
	"go/token"
	"go/types"
	"regexp"
	"sort"

	"atonce/internal/gosrc"
)

// crypticUndefined matches the messages yaegi gives for a name that is
// not defined anywhere, instead of saying so.
var crypticUndefined = regexp.MustCompile(`constant definition loop|incomplete type|CFG post-order panic`)

// undefinedNames returns the names a cell's groups use that neither
// they, the notebook (known) nor Go's universe defines, sorted. It reads
// the groups' trees syntactically: field names in composite literals,
// selectors and labels are not uses.
func undefinedNames(groups []*gosrc.Group, known func(string) bool) []string {
	declared := map[string]bool{}
	used := map[string]bool{}
	for _, g := range groups {
		if g.Err != nil {
			return nil
		}
		collectNames(g.File, declared, used)
	}
	var out []string
	for name := range used {
		if declared[name] || name == "_" || known(name) || types.Universe.Lookup(name) != nil {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// collectNames records the identifiers n declares and those it uses.
func collectNames(n ast.Node, declared, used map[string]bool) {
	skip := map[*ast.Ident]bool{}
	declare := func(ids ...*ast.Ident) {
		for _, id := range ids {
			if id != nil {
				declared[id.Name] = true
				skip[id] = true
			}
		}
	}
	fields := func(fl *ast.FieldList) {
		if fl == nil {
			return
		}
		for _, f := range fl.List {
			declare(f.Names...)
		}
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.File:
			skip[x.Name] = true
		case *ast.FuncDecl:
			declare(x.Name)
			fields(x.Recv)
		case *ast.FuncType:
			fields(x.TypeParams)
			fields(x.Params)
			fields(x.Results)
		case *ast.StructType:
			fields(x.Fields)
		case *ast.InterfaceType:
			fields(x.Methods)
		case *ast.TypeSpec:
			declare(x.Name)
			fields(x.TypeParams)
		case *ast.ValueSpec:
			declare(x.Names...)
		case *ast.ImportSpec:
			if x.Name != nil {
				declare(x.Name)
			}
		case *ast.AssignStmt:
			if x.Tok == token.DEFINE {
				for _, e := range x.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						declare(id)
					}
				}
			}
		case *ast.RangeStmt:
			if x.Tok == token.DEFINE {
				for _, e := range []ast.Expr{x.Key, x.Value} {
					if id, ok := e.(*ast.Ident); ok {
						declare(id)
					}
				}
			}
		case *ast.LabeledStmt:
			declare(x.Label)
		case *ast.BranchStmt:
			if x.Label != nil {
				skip[x.Label] = true
			}
		case *ast.SelectorExpr:
			skip[x.Sel] = true
			if id, ok := x.X.(*ast.Ident); ok {
				skip[id] = true // a package, or a value: either way not the culprit here
			}
		case *ast.KeyValueExpr:
			if id, ok := x.Key.(*ast.Ident); ok {
				skip[id] = true // a struct literal's field name
			}
		case *ast.Ident:
			if !skip[x] {
				used[x.Name] = true
			}
		}
		return true
	})
}
