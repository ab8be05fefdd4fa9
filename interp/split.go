package interp

import "atonce/internal/gosrc"

// The cell's groups, as package gosrc cuts them.
type group = gosrc.Group

const (
	groupImport = gosrc.Import
	groupDecl   = gosrc.Decl
	groupStmt   = gosrc.Stmt
)

// splitCell cuts a cell into ordered groups of imports, declarations and
// statements (see gosrc.Split).
func splitCell(src string) []group { return gosrc.Split(src) }
