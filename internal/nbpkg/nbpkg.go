// Package nbpkg builds the notebook as one Go package: the cells that ran
// successfully, each group parsed by gosrc with positions cellN:L:C, the
// groups of statements lifted to the package-level declarations the
// interpreter makes of them (a top-level x := v declares a package
// variable), pruned to the last definition of every name, and each file
// given the imports its selectors need. Check then type-checks it,
// tolerating every error, with the importer the caller chooses.
//
// The data-sharing analysis (models/sharing) reads it with a shallow
// importer of the standard library's source; native mode (interp/native)
// generates a program from it with the compiler's export data. Both see
// the same package.
package nbpkg

import (
	"errors"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"go/types"
	"slices"
	"strconv"

	"atonce/internal/gosrc"
)

// File is one group of a cell as a file of package-level declarations.
type File struct {
	// AST is the group, pruned: a group of statements keeps only what
	// defines package-level names, its top-level := as var declarations
	// (see Load). Its imports are the ones Load gave it.
	AST *ast.File
	// Cell is the cell's position among the cells given to Load, from 1.
	Cell int
	// Src is the text AST was parsed from: the group wrapped by
	// gosrc.Wrap, positions read as in the cell through a line directive.
	Src string
	// TF is AST's token.File.
	TF *token.File
	// Stmts tells a group of statements, lifted.
	Stmts bool
}

// Text is the source of the node n of the file, as in the cell.
func (f *File) Text(n ast.Node) string {
	return f.Src[f.TF.Offset(n.Pos()):f.TF.Offset(n.End())]
}

// Package is the notebook as one Go package named main.
type Package struct {
	Fset  *token.FileSet
	Files []*File
	// Ignored are the cells left out because they do not parse, each with
	// the parser's reason.
	Ignored []string
	// Info is what Check found; its maps are empty before Check, or when
	// the type checker gave up.
	Info *types.Info
	// Types is the package Check made, nil before Check or when the type
	// checker gave up.
	Types *types.Package
	// Errors are the type errors Check tolerated.
	Errors []types.Error
	// Blank are the paths the notebook imports as _ (for their side
	// effects, such as image/png registering its decoder), in order.
	Blank []string
}

// Load parses the cells (Go source as it ran, in order: declarations and
// top-level statements, possibly both in one cell) into a package. Magic
// lines (`%name ...`, a first line `%%name ...` whose body is Go, `name?`)
// are blanked. A later definition of a name replaces an earlier one: an
// earlier func, method or type is dropped, an earlier var or const is
// renamed _. Imports in a notebook apply to every cell, so each file
// imports the packages its selectors name: the notebook's explicit imports,
// else the standard package the interpreter imports for that name
// (gosrc.AutoImport). A cell that does not parse is left out and named in
// Ignored. Load does not type-check: see Check.
func Load(cells []string) *Package {
	p := &Package{Fset: token.NewFileSet()}
	p.untyped()
	for i, c := range cells {
		files, err := parseCell(p.Fset, i+1, gosrc.BlankMagics(c))
		if err != nil {
			p.Ignored = append(p.Ignored, fmt.Sprintf("cell %d does not parse: %s", i+1, firstError(err)))
			continue
		}
		p.Files = append(p.Files, files...)
	}
	explicit, dots := p.prune()
	p.addImports(explicit, dots)
	return p
}

// Check type-checks the package with imp, tolerating every error (they
// are kept in Errors). It reports whether the type checker ran to the end;
// a panic of the type checker leaves Info empty and Types nil. Check is
// not safe for concurrent use with other checks that share imp's packages
// unless imp is.
func (p *Package) Check(imp types.Importer) (ok bool) {
	p.untyped()
	files := make([]*ast.File, len(p.Files))
	for i, f := range p.Files {
		files[i] = f.AST
	}
	var errs []types.Error
	conf := types.Config{Importer: imp, FakeImportC: true, Error: func(err error) {
		var te types.Error
		if errors.As(err, &te) {
			errs = append(errs, te)
		}
	}}
	defer func() {
		if r := recover(); r != nil {
			p.untyped()
			ok = false
		}
	}()
	p.Types, _ = conf.Check("main", p.Fset, files, p.Info)
	p.Errors = errs
	return true
}

// untyped drops what the type checker found.
func (p *Package) untyped() {
	p.Types, p.Errors = nil, nil
	p.Info = &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Implicits:  map[ast.Node]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
}

// FileOf is the file that holds pos, or nil.
func (p *Package) FileOf(pos token.Pos) *File {
	if !pos.IsValid() {
		return nil
	}
	tf := p.Fset.File(pos)
	for _, f := range p.Files {
		if f.TF == tf {
			return f
		}
	}
	return nil
}

// Position is where pos is in the notebook: the cell (from 1), line and
// column as the user typed them; cell 0 when pos is not in a cell.
func (p *Package) Position(pos token.Pos) (cell, line, col int) {
	if !pos.IsValid() {
		return 0, 0, 0
	}
	at := p.Fset.Position(pos)
	if _, err := fmt.Sscanf(at.Filename, "cell%d", &cell); err != nil {
		return 0, 0, 0
	}
	return cell, at.Line, at.Column
}

// parseCell parses one cell (magics already blanked) into files, their
// positions in file "cellN". A cell with a syntax error yields no file
// and the error.
func parseCell(fset *token.FileSet, cell int, src string) ([]*File, error) {
	c := gosrc.Parse(src, gosrc.Options{Fset: fset, File: fmt.Sprintf("cell%d", cell)})
	if c.Err != nil {
		return nil, c.Err
	}
	var files []*File
	for _, g := range c.Groups {
		f := g.File
		stmts := g.Kind == gosrc.Stmt
		if stmts {
			f.Decls = lift(f)
		}
		files = append(files, &File{AST: f, TF: fset.File(f.FileStart), Src: g.Source, Cell: cell, Stmts: stmts})
	}
	return files, nil
}

// firstError is a parser's first error, positioned in the cell.
func firstError(err error) string {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		e := list[0]
		return fmt.Sprintf("line %d column %d: %s", e.Pos.Line, e.Pos.Column, e.Msg)
	}
	return err.Error()
}

// lift turns a statement group (parsed as the body of func main) into the
// package-level declarations the interpreter makes of it: `a, b := x, y`
// at top level defines package variables a and b, and var, const and type
// declarations among the statements are package-level too. The other
// statements ran once, when the cell did; they are not part of the
// package.
func lift(f *ast.File) []ast.Decl {
	var decls []ast.Decl
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		for _, s := range fd.Body.List {
			switch s := s.(type) {
			case *ast.AssignStmt:
				if s.Tok != token.DEFINE {
					continue
				}
				spec := &ast.ValueSpec{}
				for _, l := range s.Lhs {
					id, ok := l.(*ast.Ident)
					if !ok {
						id = &ast.Ident{Name: "_", NamePos: l.Pos()}
					}
					spec.Names = append(spec.Names, id)
				}
				spec.Values = s.Rhs
				decls = append(decls, &ast.GenDecl{TokPos: s.Pos(), Tok: token.VAR, Specs: []ast.Spec{spec}})
			case *ast.DeclStmt:
				if gd, ok := s.Decl.(*ast.GenDecl); ok {
					decls = append(decls, gd)
				}
			}
		}
	}
	return decls
}

// FuncKey is the definition a func declaration makes: its name, or T.M
// for a method (whatever the receiver's pointer or type parameters). init,
// _ and a method on a receiver that is not a type name make none.
func FuncKey(d *ast.FuncDecl) (key string, method, ok bool) {
	if d.Name == nil || d.Name.Name == "_" {
		return "", false, false
	}
	if d.Recv == nil {
		if d.Name.Name == "init" {
			return "", false, false
		}
		return d.Name.Name, false, true
	}
	if len(d.Recv.List) == 0 {
		return "", false, false
	}
	t := gosrc.BaseTypeName(d.Recv.List[0].Type)
	if t == "" {
		return "", false, false
	}
	return t + "." + d.Name.Name, true, true
}

// defKey separates the two namespaces of definitions: package-level
// names, and methods (Type.Method).
type defKey struct {
	method bool
	name   string
}

// prune keeps the last definition of every name, renaming earlier
// variables and constants to _ and dropping earlier functions and types.
// It removes import declarations and returns the explicit imports, by
// the name they bind, and the paths imported with a dot; it puts the
// paths imported as _ in Blank.
func (p *Package) prune() (imports map[string]string, dots []string) {
	imports = map[string]string{}
	type site struct {
		file, decl, spec, name int
	}
	last := map[defKey]site{}
	for fi, f := range p.Files {
		for di, d := range f.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if name, method, ok := FuncKey(d); ok {
					last[defKey{method, name}] = site{fi, di, -1, -1}
				}
			case *ast.GenDecl:
				for si, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ImportSpec:
						im, ok := gosrc.ImportOf(s)
						switch {
						case !ok:
						case im.Name == "_":
							if !slices.Contains(p.Blank, im.Path) {
								p.Blank = append(p.Blank, im.Path)
							}
						case im.Name == ".":
							if !slices.Contains(dots, im.Path) {
								dots = append(dots, im.Path)
							}
						default:
							imports[im.Name] = im.Path
						}
					case *ast.ValueSpec:
						for ni, n := range s.Names {
							if n.Name != "_" {
								last[defKey{name: n.Name}] = site{fi, di, si, ni}
							}
						}
					case *ast.TypeSpec:
						if s.Name.Name != "_" {
							last[defKey{name: s.Name.Name}] = site{fi, di, si, -1}
						}
					}
				}
			}
		}
	}
	for fi, f := range p.Files {
		var keep []ast.Decl
		for di, d := range f.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if name, method, ok := FuncKey(d); ok && last[defKey{method, name}] != (site{fi, di, -1, -1}) {
					continue
				}
				keep = append(keep, d)
			case *ast.GenDecl:
				if d.Tok == token.IMPORT {
					continue
				}
				var specs []ast.Spec
				for si, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for ni, n := range s.Names {
							if n.Name != "_" && last[defKey{name: n.Name}] != (site{fi, di, si, ni}) {
								s.Names[ni] = &ast.Ident{Name: "_", NamePos: n.NamePos}
							}
						}
					case *ast.TypeSpec:
						if last[defKey{name: s.Name.Name}] != (site{fi, di, si, -1}) {
							continue
						}
					}
					specs = append(specs, s)
				}
				if len(specs) == 0 {
					continue
				}
				d.Specs = specs
				keep = append(keep, d)
			default:
				keep = append(keep, d)
			}
		}
		f.AST.Decls = keep
		f.AST.Imports = nil
	}
	return imports, dots
}

// addImports gives every file the imports its selectors need: the
// notebook's explicit imports and the standard packages the interpreter
// imports automatically; and every file the notebook's dot imports. A
// file may get an import it does not use (a selector on a local variable
// that has a package's name, a dot import); the type checker's Uses tell.
func (p *Package) addImports(explicit map[string]string, dots []string) {
	top := map[string]bool{}
	for _, f := range p.Files {
		for _, d := range f.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name != nil {
					top[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							top[n.Name] = true
						}
					case *ast.TypeSpec:
						top[s.Name.Name] = true
					}
				}
			}
		}
	}
	for _, f := range p.Files {
		uses := map[string][]string{}
		var names []string
		ast.Inspect(f.AST, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && !top[id.Name] {
					if _, seen := uses[id.Name]; !seen {
						names = append(names, id.Name)
					}
					uses[id.Name] = append(uses[id.Name], sel.Sel.Name)
				}
			}
			return true
		})
		var specs []ast.Spec
		for _, path := range dots {
			spec := &ast.ImportSpec{Name: ast.NewIdent("."), Path: &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(path)}}
			specs = append(specs, spec)
			f.AST.Imports = append(f.AST.Imports, spec)
		}
		for _, name := range names {
			path, ok := explicit[name]
			if !ok {
				// The package the interpreter imports for it (see
				// gosrc.AutoImport); a name that is no package's is left.
				if path, _, ok = gosrc.AutoImport(name, uses[name]); !ok {
					continue
				}
			}
			spec := &ast.ImportSpec{Path: &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(path)}}
			if gosrc.ImportName(path) != name {
				spec.Name = ast.NewIdent(name)
			}
			specs = append(specs, spec)
			f.AST.Imports = append(f.AST.Imports, spec)
		}
		if len(specs) > 0 {
			f.AST.Decls = append([]ast.Decl{&ast.GenDecl{Tok: token.IMPORT, Specs: specs}}, f.AST.Decls...)
		}
	}
}
