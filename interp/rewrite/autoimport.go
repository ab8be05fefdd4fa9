package rewrite

import (
	"fmt"
	"strings"

	"atonce/internal/gosrc"
)

// autoImports picks a package for each name the cell selects from without
// importing it (gosrc.AutoImport: one of the interpreter's packages of
// that name that has every member the cell uses), with a note when other
// packages have that name.
func (w *walker) autoImports() (imports, notes []string) {
	for _, name := range w.pkgOrder {
		uses := w.pkgUses[name]
		pick, others, ok := gosrc.AutoImport(name, uses)
		if !ok {
			continue
		}
		imports = append(imports, pick)
		if len(others) > 0 {
			notes = append(notes, fmt.Sprintf("atonce: imported %q for %s.%s (also named %s: %s)",
				pick, name, uses[0], name, strings.Join(others, ", ")))
		}
	}
	return imports, notes
}
