package rewrite

import "go/ast"

// ScopeCompound runs each top-level compound statement (for, range, if,
// switch, select, a bare block) inside a function literal called on the
// spot. yaegi evaluates top-level statements in the global scope, where a
// multi-value := inside such a statement's body loses its variables
// ("undefined: ms" for `ms, _ := strconv.ParseFloat(s, 64)` in a
// top-level loop) and the loop's own variables leak into the notebook.
// Go gives these statements their own scope anyway, so wrapping changes
// nothing else: they define no package-level names. The literal carries
// the statement's position, so errors still point at the user's code.
func ScopeCompound(stmts []ast.Stmt) []ast.Stmt {
	out := make([]ast.Stmt, len(stmts))
	for i, s := range stmts {
		switch s.(type) {
		case *ast.ForStmt, *ast.RangeStmt, *ast.IfStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt, *ast.BlockStmt:
			if hasGoto(s) {
				out[i] = s
				continue
			}
			pos, end := s.Pos(), s.End()
			lit := &ast.FuncLit{
				Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
				Body: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{s}, Rbrace: end - 1},
			}
			out[i] = &ast.ExprStmt{X: &ast.CallExpr{Fun: lit, Lparen: end - 1, Rparen: end - 1}}
		default:
			out[i] = s
		}
	}
	return out
}

// hasGoto tells whether s holds a goto, which might leave the statement
// for a label elsewhere in the cell: such a statement is left alone.
func hasGoto(s ast.Stmt) bool {
	found := false
	ast.Inspect(s, func(n ast.Node) bool {
		if b, ok := n.(*ast.BranchStmt); ok && b.Tok.String() == "goto" {
			found = true
		}
		return !found
	})
	return found
}
