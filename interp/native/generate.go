package native

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"sort"
	"strconv"
	"strings"

	"atonce/internal/gosrc"
	"atonce/internal/nbpkg"
	"atonce/models"
)

// RuntimePath is the import path of native mode's runtime package, which
// generated programs import as __atonce.
const RuntimePath = "atonce/models/native"

// Shapes lists the task function shapes a model can call, interpreted or
// native (the int may be any integer type but uintptr): models.Shapes,
// which models.TaskOf checks at run time as taskShape does here.
const Shapes = models.Shapes

// ErrNoTask is returned, wrapped, when the notebook has no function of
// the task's name with a task shape.
var ErrNoTask = errors.New("the notebook has no such task function")

// packagePaths maps the import paths cells use for atonce's packages to
// the packages' real paths in atonce's module.
var packagePaths = map[string]string{"atonce/display": "atonce/interp/display", "atonce/check": "atonce/interp/check"}

// realPath is the path a cell's import of path is built with.
func realPath(path string) string {
	if p, ok := packagePaths[path]; ok {
		return p
	}
	return path
}

// Program is a Go program generated from a notebook. It is not modified
// once Generate returns it.
type Program struct {
	// Files are the program's source files by name: main.go and one
	// cellN_K.go per group K of cell N that declares something.
	Files map[string]string `json:"files"`
	// Hash identifies the source (it is Program.Source in main.go).
	Hash string `json:"hash"`
	// Cells are the cells it was generated from, for excerpts of errors.
	Cells []string `json:"cells"`
	// Task is the task function's name given to Generate.
	Task string `json:"task,omitempty"`
	// Funcs are the notebook's functions with a task shape (Shapes),
	// sorted: the program's Program.Funcs.
	Funcs []string `json:"funcs,omitempty"`
	// Vars are the notebook's package-level variables, in declaration
	// order: the program's Program.Vars.
	Vars []Var `json:"vars,omitempty"`
	// Ignored are cells left out because they do not parse (cells that
	// ran successfully always do).
	Ignored []string `json:"ignored,omitempty"`
}

// Var is one of the notebook's package-level variables in the program.
type Var struct {
	Name string `json:"name"`
	// Type is its type as Go writes it (package names, not paths).
	Type string `json:"type"`
	// Cell and Line are where it is declared (cell from 1).
	Cell int `json:"cell"`
	Line int `json:"line"`
	// Crossing is how its value gets into the program; Why says why it
	// cannot cross (Remade, Zero), Lost what stays behind (Partly).
	Crossing Crossing `json:"crossing"`
	Why      string   `json:"why,omitempty"`
	Lost     []string `json:"lost,omitempty"`
	// AtStart tells a variable whose type cannot be written in Go source
	// (an unexported type of another package): it keeps its declaration's
	// initializer, which runs when the program starts, before its value
	// crosses.
	AtStart bool `json:"atStart,omitempty"`
}

// Notes are the sentences a run shows about the variables that do not
// cross whole as JSON, in declaration order: "ch is made anew by its
// declaration: a channel cannot cross as JSON".
func (p *Program) Notes() []string {
	var out []string
	for _, v := range p.Vars {
		if n := v.note(); n != "" {
			out = append(out, n)
		}
		if v.AtStart {
			out = append(out, fmt.Sprintf("%s is set by its declaration when the native program starts: its type, %s, cannot be written in Go source", v.Name, v.Type))
		}
	}
	return out
}

// Source is the program's source, its files one after the other under
// a "// file NAME" line each, sorted by name (for reading and tests).
func (p *Program) Source() string {
	names := make([]string, 0, len(p.Files))
	for n := range p.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "// file %s\n%s\n", n, p.Files[n])
	}
	return b.String()
}

// generate makes the program from the notebook's package, type-checked.
func generate(pkg *nbpkg.Package, cells []string, task string) (*Program, error) {
	if pkg.Types == nil {
		return nil, fmt.Errorf("type-checking the notebook failed (a bug in atonce)")
	}
	g := &gen{
		pkg:     pkg,
		info:    pkg.Info,
		prog:    &Program{Files: map[string]string{}, Cells: cells, Task: task, Ignored: pkg.Ignored},
		remakes: map[string]string{},
		tasks:   map[string]string{},
	}
	if obj, ok := pkg.Types.Scope().Lookup("main").(*types.Func); ok {
		g.mainObj = obj
	}
	if err := g.checkTask(task); err != nil {
		return nil, err
	}
	groups := map[int]int{}
	for _, f := range pkg.Files {
		groups[f.Cell]++
		fg := &fileGen{g: g, f: f, name: fmt.Sprintf("cell%d_%d.go", f.Cell, groups[f.Cell]), aliases: map[string]string{}, used: map[*ast.ImportSpec]bool{}}
		if src := fg.generate(); src != "" {
			g.prog.Files[fg.name] = src
		}
	}
	g.prog.Hash = g.hash()
	g.prog.Files["main.go"] = g.mainFile(g.prog.Hash)
	return g.prog, nil
}

// gen is the generation of one program.
type gen struct {
	pkg     *nbpkg.Package
	info    *types.Info
	prog    *Program
	mainObj *types.Func       // the notebook's func main, renamed
	remakes map[string]string // variable → the func that remakes it
	tasks   map[string]string // task name → the expression main.go uses
	nRemake int
}

// checkTask refuses a task the notebook does not define with a task shape.
func (g *gen) checkTask(task string) error {
	if task == "" {
		return nil
	}
	obj := g.pkg.Types.Scope().Lookup(task)
	switch obj := obj.(type) {
	case *types.Func:
		if sig := obj.Type().(*types.Signature); !taskShape(sig) {
			return fmt.Errorf("%w: %s has type %s, which a model cannot call; a task is one of: %s", ErrNoTask, task, types.TypeString(sig, g.qualName), Shapes)
		}
		return nil
	case *types.Var:
		if sig, ok := obj.Type().Underlying().(*types.Signature); ok && taskShape(sig) {
			return nil
		}
		return fmt.Errorf("%w: %s is a variable of type %s; a task is one of: %s", ErrNoTask, task, types.TypeString(obj.Type(), g.qualName), Shapes)
	}
	return fmt.Errorf("%w: the notebook defines no function %s", ErrNoTask, task)
}

// qualName writes package names, and nothing for the notebook's.
func (g *gen) qualName(p *types.Package) string {
	if p == g.pkg.Types {
		return ""
	}
	return p.Name()
}

// taskShape tells the signatures a model can call: no type parameters,
// no or one integer parameter, no result, one, or a result and an error.
func taskShape(sig *types.Signature) bool {
	if sig.TypeParams().Len() > 0 || sig.Variadic() || sig.Params().Len() > 1 {
		return false
	}
	if sig.Params().Len() == 1 {
		b, ok := sig.Params().At(0).Type().Underlying().(*types.Basic)
		if !ok || b.Info()&types.IsInteger == 0 || b.Kind() == types.Uintptr {
			return false
		}
	}
	switch r := sig.Results(); r.Len() {
	case 0, 1:
		return true
	case 2:
		return types.Identical(r.At(1).Type(), types.Universe.Lookup("error").Type())
	}
	return false
}

// hash identifies the cells' generated files and the program's entries.
func (g *gen) hash() string {
	h := sha256.New()
	names := make([]string, 0, len(g.prog.Files))
	for n := range g.prog.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00%s", n, len(g.prog.Files[n]), g.prog.Files[n])
	}
	fmt.Fprint(h, g.mainFile(""))
	return hex.EncodeToString(h.Sum(nil))
}

// mainFile is main.go: the runtime's Main given the program's funcs,
// variables and remakes.
func (g *gen) mainFile(hash string) string {
	var b strings.Builder
	b.WriteString("// Code generated by atonce from the notebook's cells; DO NOT EDIT.\n\npackage main\n\nimport (\n")
	fmt.Fprintf(&b, "\t__atonce %q\n", RuntimePath)
	for _, path := range g.pkg.Blank {
		fmt.Fprintf(&b, "\t_ %q\n", realPath(path))
	}
	b.WriteString(")\n\nfunc main() {\n\t__atonce.Main(__atonce.Program{\n\t\tFuncs: map[string]any{\n")
	for _, name := range g.prog.Funcs {
		fmt.Fprintf(&b, "\t\t\t%q: %s,\n", name, g.tasks[name])
	}
	b.WriteString("\t\t},\n\t\tVars: map[string]any{\n")
	for _, v := range g.prog.Vars {
		fmt.Fprintf(&b, "\t\t\t%q: &%s,\n", v.Name, v.Name)
	}
	b.WriteString("\t\t},\n\t\tRemake: map[string]func(){\n")
	for _, v := range g.prog.Vars {
		if fn, ok := g.remakes[v.Name]; ok {
			fmt.Fprintf(&b, "\t\t\t%q: %s,\n", v.Name, fn)
		}
	}
	fmt.Fprintf(&b, "\t\t},\n\t\tSource: %q,\n\t})\n}\n", hash)
	return b.String()
}

// fileGen writes the file of one group of a cell: its declarations as
// the cell has them, each after a //line directive that positions it in
// the cell, and the variables it declares by their type.
type fileGen struct {
	g    *gen
	f    *nbpkg.File
	name string
	body strings.Builder
	// edits of the group's source: time.Sleep rewritten, main renamed,
	// names of earlier definitions blanked.
	edits []edit
	// used are the group's imports the emitted code uses; aliases the
	// imports added for type names, by path.
	used    map[*ast.ImportSpec]bool
	aliases map[string]string
	runtime bool // imports __atonce
	emitted bool
}

// edit replaces the group's source from start to end (offsets in
// File.Src) with text.
type edit struct {
	start, end int
	text       string
}

// reset stands in the body for a //line directive back to the file's own
// positions; its line is known once the imports are.
const reset = "\x00reset\x00"

// generate returns the file's source, "" when it declares nothing.
func (fg *fileGen) generate() string {
	for _, d := range fg.f.AST.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			fg.funcDecl(d)
		case *ast.GenDecl:
			switch d.Tok {
			case token.CONST:
				fg.scan(d)
				fg.blankNames(d)
				fg.copy(d.Pos(), d.End())
			case token.TYPE:
				fg.typeDecl(d)
			case token.VAR:
				for _, s := range d.Specs {
					fg.varSpec(s.(*ast.ValueSpec))
				}
			}
		}
	}
	if !fg.emitted {
		return ""
	}
	return fg.assemble()
}

// funcDecl copies a func or method; init is left out (it ran when its
// cell did, like the cell's statements) and main renamed.
func (fg *fileGen) funcDecl(d *ast.FuncDecl) {
	if d.Recv == nil && (d.Name.Name == "init" || d.Name.Name == "_") {
		return
	}
	fg.scan(d)
	fg.directives(d.Pos())
	fg.copy(d.Pos(), d.End())
	if d.Recv != nil {
		return
	}
	obj, ok := fg.g.info.Defs[d.Name].(*types.Func)
	if !ok {
		return
	}
	if sig := obj.Type().(*types.Signature); taskShape(sig) {
		fg.g.prog.Funcs = append(fg.g.prog.Funcs, d.Name.Name)
		fg.g.tasks[d.Name.Name] = d.Name.Name
		if d.Name.Name == "main" {
			fg.g.tasks["main"] = mainName
		}
		slices.Sort(fg.g.prog.Funcs)
	}
}

// directives writes the compiler directives (//go:noinline, ...) of the
// comment lines right above the func at pos in its cell.
func (fg *fileGen) directives(pos token.Pos) {
	cell, line, _ := fg.g.pkg.Position(pos)
	if cell < 1 || cell > len(fg.g.prog.Cells) {
		return
	}
	lines := strings.Split(fg.g.prog.Cells[cell-1], "\n")
	var dirs []string
	for l := line - 1; l >= 1 && l <= len(lines); l-- {
		text := strings.TrimSpace(lines[l-1])
		if !strings.HasPrefix(text, "//") {
			break
		}
		if strings.HasPrefix(text, "//go:") {
			dirs = append([]string{text}, dirs...)
		}
	}
	for _, d := range dirs {
		fg.body.WriteString("\n" + d)
	}
}

// typeDecl copies a type declaration, spec by spec when it is grouped
// (specs of earlier definitions were pruned).
func (fg *fileGen) typeDecl(d *ast.GenDecl) {
	fg.scan(d)
	if !d.Lparen.IsValid() {
		fg.copy(d.Pos(), d.End())
		return
	}
	fg.body.WriteString("\ntype (")
	for _, s := range d.Specs {
		fg.copy(s.Pos(), s.End())
	}
	fg.body.WriteString(")\n")
}

// varSpec declares the spec's variables by their types (their values
// cross from the notebook), and the funcs that remake those whose values
// cannot cross.
func (fg *fileGen) varSpec(s *ast.ValueSpec) {
	type one struct {
		id  *ast.Ident
		obj *types.Var
		v   Var
	}
	var vars []one
	atStart := false
	for _, id := range s.Names {
		if id.Name == "_" {
			continue
		}
		obj, _ := fg.g.info.Defs[id].(*types.Var)
		if obj == nil {
			continue
		}
		cell, line, _ := fg.g.pkg.Position(id.Pos())
		v := Var{Name: id.Name, Type: types.TypeString(obj.Type(), fg.g.qualName), Cell: cell, Line: line}
		c := crossingOf(obj.Type(), fg.g.pkg.Types, fg.g.qualName)
		switch {
		case c.fails && len(s.Values) > 0:
			v.Crossing, v.Why = Remade, c.why
		case c.fails:
			v.Crossing, v.Why = Zero, c.why
		case len(c.lost) > 0:
			v.Crossing, v.Lost = Partly, c.lost
		default:
			v.Crossing = Crosses
		}
		if !fg.writable(obj.Type()) {
			atStart, v.AtStart = true, true
		}
		vars = append(vars, one{id, obj, v})
	}
	if len(vars) == 0 {
		return
	}
	for _, o := range vars {
		fg.g.prog.Vars = append(fg.g.prog.Vars, o.v)
	}
	if atStart && len(s.Values) > 0 {
		// The declaration as written (x = v for x := v), its earlier
		// names blanked.
		var names []string
		for _, id := range s.Names {
			names = append(names, id.Name)
		}
		decl := strings.Join(names, ", ")
		if s.Type != nil {
			fg.scan(s.Type)
			decl += " " + fg.f.Text(s.Type)
		}
		for _, v := range s.Values {
			fg.scan(v)
		}
		fmt.Fprintf(&fg.body, "\nvar %s =", decl)
		fg.copy(s.Values[0].Pos(), s.Values[len(s.Values)-1].End())
	} else {
		fg.body.WriteString("\nvar (")
		for _, o := range vars {
			pos := fg.position(o.id.Pos())
			fmt.Fprintf(&fg.body, "\n//line %s\n%s %s\n%s", pos, o.id.Name, fg.typeString(o.obj.Type()), reset)
		}
		fg.body.WriteString(")\n")
		fg.emitted = true
	}
	var remade []*ast.Ident
	for _, o := range vars {
		if o.v.Crossing == Remade {
			remade = append(remade, o.id)
		}
		if sig, ok := o.obj.Type().Underlying().(*types.Signature); ok && taskShape(sig) {
			fg.taskWrapper(o.id.Name, sig)
		}
	}
	if len(remade) > 0 {
		fg.remake(s, remade)
	}
}

// remake writes the funcs that run again the initializer of the
// variables remade of spec s: x = v for each when the spec has a value per
// name, else one x, _ = f() for all.
func (fg *fileGen) remake(s *ast.ValueSpec, remade []*ast.Ident) {
	write := func(lhs []string, values []ast.Expr) string {
		fg.g.nRemake++
		name := fmt.Sprintf("__atonce_remake%d", fg.g.nRemake)
		for _, v := range values {
			fg.scan(v)
		}
		fmt.Fprintf(&fg.body, "\nfunc %s() {\n\t%s =", name, strings.Join(lhs, ", "))
		fg.copy(values[0].Pos(), values[len(values)-1].End())
		fg.body.WriteString("}\n")
		return name
	}
	if len(s.Values) == len(s.Names) {
		for _, id := range remade {
			i := slices.Index(s.Names, id)
			fg.g.remakes[id.Name] = write([]string{id.Name}, s.Values[i:i+1])
		}
		return
	}
	var lhs []string
	for _, n := range s.Names {
		if slices.Contains(remade, n) {
			lhs = append(lhs, n.Name)
		} else {
			lhs = append(lhs, "_")
		}
	}
	name := write(lhs, s.Values)
	for _, id := range remade {
		fg.g.remakes[id.Name] = name
	}
}

// taskWrapper writes the func main.go gives the runtime for a variable
// holding a task-shaped func: it calls the variable's value at the time
// of the call (a remade one).
func (fg *fileGen) taskWrapper(name string, sig *types.Signature) {
	fn := "__atonce_task_" + name
	param, arg := "", ""
	if sig.Params().Len() == 1 {
		param, arg = "__atonce_i "+fg.typeString(sig.Params().At(0).Type()), "__atonce_i"
	}
	var results []string
	for i := range sig.Results().Len() {
		results = append(results, fg.typeString(sig.Results().At(i).Type()))
	}
	res, ret := strings.Join(results, ", "), "return "
	switch len(results) {
	case 0:
		ret = ""
	case 2:
		res = "(" + res + ")"
	}
	fmt.Fprintf(&fg.body, "\nfunc %s(%s) %s { %s%s(%s) }\n", fn, param, res, ret, name, arg)
	fg.g.tasks[name] = fn
	fg.g.prog.Funcs = append(fg.g.prog.Funcs, name)
	slices.Sort(fg.g.prog.Funcs)
	fg.emitted = true
}

// scan records what emitting n needs: the imports its code uses, the
// notebook's time.Sleep rewritten to the runtime's (whatever the import's
// local name, or through a dot import), the notebook's func main renamed.
func (fg *fileGen) scan(n ast.Node) {
	info := fg.g.info
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				if pn, ok := info.Uses[id].(*types.PkgName); ok {
					if isSleep(pn.Imported().Path(), x.Sel.Name) {
						fg.replace(x.Pos(), x.End(), "__atonce.Sleep")
						fg.runtime = true
					} else {
						fg.use(pn)
					}
					return false
				}
			}
			ast.Inspect(x.X, visit) // not x.Sel: a field, method or member
			return false
		case *ast.Ident:
			obj := info.Uses[x]
			if obj == nil {
				obj = info.Defs[x]
			}
			switch {
			case obj == nil:
			case fg.g.mainObj != nil && obj == types.Object(fg.g.mainObj):
				fg.replace(x.Pos(), x.End(), mainName)
			case obj.Pkg() != nil && obj.Pkg() != fg.g.pkg.Types && obj.Parent() == obj.Pkg().Scope():
				// A member of a package imported with a dot.
				if isSleep(obj.Pkg().Path(), obj.Name()) {
					fg.replace(x.Pos(), x.End(), "__atonce.Sleep")
					fg.runtime = true
				} else {
					fg.useDot(obj.Pkg().Path())
				}
			}
		}
		return true
	}
	ast.Inspect(n, visit)
}

// mainName is what the notebook's func main is called in the program,
// whose own main calls the runtime.
const mainName = "__atonce_main"

func isSleep(path, name string) bool { return path == "time" && name == "Sleep" }

// use marks the import that declares pn used.
func (fg *fileGen) use(pn *types.PkgName) {
	for _, spec := range fg.f.AST.Imports {
		var obj types.Object
		if spec.Name != nil {
			obj = fg.g.info.Defs[spec.Name]
		} else {
			obj = fg.g.info.Implicits[spec]
		}
		if obj == types.Object(pn) {
			fg.used[spec] = true
			return
		}
	}
}

// useDot marks the dot import of path used.
func (fg *fileGen) useDot(path string) {
	for _, spec := range fg.f.AST.Imports {
		if spec.Name != nil && spec.Name.Name == "." {
			if p, err := strconv.Unquote(spec.Path.Value); err == nil && p == path {
				fg.used[spec] = true
			}
		}
	}
}

// replace records the edit that writes text in place of the source from
// pos to end; a /*line*/ directive after it keeps the columns after it as
// the user typed them.
func (fg *fileGen) replace(pos, end token.Pos, text string) {
	start := fg.f.TF.Offset(pos)
	for _, e := range fg.edits {
		if e.start == start {
			return
		}
	}
	fg.edits = append(fg.edits, edit{start: start, end: fg.f.TF.Offset(end), text: text + "/*line " + fg.position(end) + "*/"})
}

// blankNames writes _ for the names in n that an earlier definition of
// the notebook lost to a later one (nbpkg renamed them).
func (fg *fileGen) blankNames(n ast.Node) {
	ast.Inspect(n, func(n ast.Node) bool {
		sp, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for _, id := range sp.Names {
			if id.Name != "_" {
				continue
			}
			start := fg.f.TF.Offset(id.Pos())
			end := start
			for end < len(fg.f.Src) && isIdentByte(fg.f.Src[end]) {
				end++
			}
			if fg.f.Src[start:end] != "_" {
				fg.replace(id.Pos(), id.Pos()+token.Pos(end-start), "_")
			}
		}
		return false
	})
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= 0x80 || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') || ('0' <= b && b <= '9')
}

// position is where pos is in the notebook, as a //line directive names
// it: cellN:L:C.
func (fg *fileGen) position(pos token.Pos) string {
	p := fg.g.pkg.Fset.Position(pos)
	return fmt.Sprintf("%s:%d:%d", p.Filename, p.Line, p.Column)
}

// copy writes the group's source from pos to end, edited, after a //line
// directive that gives it the cell's positions.
func (fg *fileGen) copy(pos, end token.Pos) {
	start, stop := fg.f.TF.Offset(pos), fg.f.TF.Offset(end)
	fmt.Fprintf(&fg.body, "\n//line %s\n", fg.position(pos))
	es := slices.Clone(fg.edits)
	sort.Slice(es, func(i, j int) bool { return es[i].start < es[j].start })
	at := start
	for _, e := range es {
		if e.start < at || e.end > stop {
			continue
		}
		fg.body.WriteString(fg.f.Src[at:e.start])
		fg.body.WriteString(e.text)
		at = e.end
	}
	fg.body.WriteString(fg.f.Src[at:stop])
	fg.body.WriteString("\n" + reset)
	fg.emitted = true
}

// typeString writes t as this file can name it.
func (fg *fileGen) typeString(t types.Type) string { return types.TypeString(t, fg.qualify) }

// qualify names package p in this file: "" for the notebook, the name of
// the group's import of p, else an import added for it.
func (fg *fileGen) qualify(p *types.Package) string {
	if p == fg.g.pkg.Types {
		return ""
	}
	for _, spec := range fg.f.AST.Imports {
		im, ok := gosrc.ImportOf(spec)
		if ok && im.Path == p.Path() && im.Name != "." && im.Name != "_" {
			fg.used[spec] = true
			return im.Name
		}
	}
	if a, ok := fg.aliases[p.Path()]; ok {
		return a
	}
	a := "__atonce_" + p.Name()
	for slices.Contains(mapValues(fg.aliases), a) {
		a += "_"
	}
	fg.aliases[p.Path()] = a
	return a
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// writable tells whether Go source outside t's packages can name t: no
// unexported type or field of another package in it.
func (fg *fileGen) writable(t types.Type) bool {
	seen := map[types.Type]bool{}
	var ok func(t types.Type) bool
	ok = func(t types.Type) bool {
		if seen[t] {
			return true
		}
		seen[t] = true
		switch t := t.(type) {
		case *types.Basic:
			return t.Kind() != types.Invalid && t.Info()&types.IsUntyped == 0
		case *types.Alias:
			o := t.Obj()
			if o.Pkg() != nil && o.Pkg() != fg.g.pkg.Types && !o.Exported() {
				return ok(types.Unalias(t))
			}
			return true
		case *types.Named:
			o := t.Obj()
			if o.Pkg() != nil && o.Pkg() != fg.g.pkg.Types && !o.Exported() {
				return false
			}
			if o.Pkg() == fg.g.pkg.Types && o.Parent() != fg.g.pkg.Types.Scope() {
				return false // a type local to a func
			}
			for i := range t.TypeArgs().Len() {
				if !ok(t.TypeArgs().At(i)) {
					return false
				}
			}
			return true
		case *types.Pointer:
			return ok(t.Elem())
		case *types.Slice:
			return ok(t.Elem())
		case *types.Array:
			return ok(t.Elem())
		case *types.Chan:
			return ok(t.Elem())
		case *types.Map:
			return ok(t.Key()) && ok(t.Elem())
		case *types.Signature:
			for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
				for i := range tup.Len() {
					if !ok(tup.At(i).Type()) {
						return false
					}
				}
			}
			return true
		case *types.Struct:
			for i := range t.NumFields() {
				f := t.Field(i)
				if (!f.Exported() && f.Pkg() != fg.g.pkg.Types) || !ok(f.Type()) {
					return false
				}
			}
			return true
		case *types.Interface:
			for i := range t.NumMethods() {
				m := t.Method(i)
				if (!m.Exported() && m.Pkg() != fg.g.pkg.Types) || !ok(m.Type()) {
					return false
				}
			}
			for i := range t.NumEmbeddeds() {
				if !ok(t.EmbeddedType(i)) {
					return false
				}
			}
			return true
		}
		return false
	}
	return ok(t)
}

// assemble is the file: its imports, then the body with the //line
// directives back to the file's own positions in place.
func (fg *fileGen) assemble() string {
	var h strings.Builder
	h.WriteString("// Code generated by atonce from the notebook's cells; DO NOT EDIT.\n\npackage main\n")
	var lines []string
	for _, spec := range fg.f.AST.Imports {
		if !fg.used[spec] {
			continue
		}
		im, ok := gosrc.ImportOf(spec)
		if !ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s %q", im.Name, realPath(im.Path)))
	}
	for path, alias := range fg.aliases {
		lines = append(lines, fmt.Sprintf("%s %q", alias, realPath(path)))
	}
	if fg.runtime {
		lines = append(lines, fmt.Sprintf("__atonce %q", RuntimePath))
	}
	sort.Strings(lines)
	lines = slices.Compact(lines)
	if len(lines) > 0 {
		h.WriteString("\nimport (\n")
		for _, l := range lines {
			h.WriteString("\t" + l + "\n")
		}
		h.WriteString(")\n")
	}
	head := h.String()
	line := strings.Count(head, "\n") + 1
	parts := strings.Split(fg.body.String(), reset)
	var b strings.Builder
	b.WriteString(head)
	for i, p := range parts {
		if i > 0 {
			// The directive's own line, then the line it names.
			fmt.Fprintf(&b, "//line %s:%d:1\n", fg.name, line+1)
			line++
		}
		b.WriteString(p)
		line += strings.Count(p, "\n")
	}
	return b.String()
}
