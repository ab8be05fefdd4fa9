package interp

import "atonce/models/cellsplit"

// The cell's groups, as package cellsplit cuts them.
type (
	groupKind = cellsplit.Kind
	group     = cellsplit.Group
)

const (
	groupImport = cellsplit.Import
	groupDecl   = cellsplit.Decl
	groupStmt   = cellsplit.Stmt
)

// splitCell cuts a cell into ordered groups of imports, declarations and
// statements (see cellsplit.Split).
func splitCell(src string) []group { return cellsplit.Split(src) }
