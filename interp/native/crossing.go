package native

import (
	"fmt"
	"go/types"
	"reflect"
	"strings"
)

// Crossing says how a variable's value gets from the notebook into the
// native program: as JSON, the way the processes model's values cross.
type Crossing string

// The ways a value crosses.
const (
	// Crosses: the whole value crosses as JSON.
	Crosses Crossing = "crosses"
	// Partly: the value crosses without some of its parts (unexported
	// fields, which JSON leaves out): they start at their zero values.
	Partly Crossing = "partly"
	// Remade: the value cannot cross; the variable's declaration runs
	// again in the native program (Program.Remake) to make a new one.
	Remade Crossing = "remade"
	// Zero: the value cannot cross, and the declaration has no
	// initializer: the variable starts at its zero value.
	Zero Crossing = "zero"
)

// crossing is what JSON makes of a type: the whole value, part of it
// (lost names the parts left out and why), or nothing (why says why not).
type crossing struct {
	fails bool     // json.Marshal refuses it (a chan, a func, ...), or carries nothing of it
	why   string   // when fails: "a channel cannot cross as JSON"
	lost  []string // parts left out: "n (unexported)"
}

// crossingOf classifies t, the type of a notebook variable; nb is the
// notebook's package, qual writes type names.
func crossingOf(t types.Type, nb *types.Package, qual types.Qualifier) crossing {
	c := &crosser{nb: nb, qual: qual, seen: map[types.Type]bool{}}
	// An interface at the top: its dynamic type is lost on the way (an
	// error becomes a JSON object that cannot be decoded back into one).
	if _, ok := t.Underlying().(*types.Interface); ok {
		return crossing{fails: true, why: fmt.Sprintf("an interface value (%s) cannot cross as JSON: its dynamic type would be lost", types.TypeString(t, qual))}
	}
	why := c.walk(t, "")
	return crossing{fails: why != "", why: why, lost: c.lost}
}

type crosser struct {
	nb   *types.Package
	qual types.Qualifier
	seen map[types.Type]bool
	lost []string
}

// walk returns why a value of type t at path (a field path, "" at the
// top) makes the whole value fail to cross, or "".
func (c *crosser) walk(t types.Type, path string) string {
	if c.seen[t] {
		return ""
	}
	c.seen[t] = true
	defer delete(c.seen, t)
	if marshals(t) {
		return ""
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsComplex != 0:
			return at("a complex number cannot cross as JSON", path)
		case u.Kind() == types.UnsafePointer:
			return at("an unsafe.Pointer cannot cross as JSON", path)
		}
	case *types.Chan:
		return at("a channel cannot cross as JSON", path)
	case *types.Signature:
		return at("a func cannot cross as JSON", path)
	case *types.Pointer:
		return c.walk(u.Elem(), path)
	case *types.Slice:
		return c.walk(u.Elem(), path)
	case *types.Array:
		return c.walk(u.Elem(), path)
	case *types.Map:
		if !mapKeyCrosses(u.Key()) {
			return at(fmt.Sprintf("a map keyed by %s cannot cross as JSON", types.TypeString(u.Key(), c.qual)), path)
		}
		return c.walk(u.Elem(), path)
	case *types.Interface:
		if path != "" {
			c.lost = append(c.lost, path+" (an interface: its dynamic type is lost)")
		}
	case *types.Struct:
		if !carriesSomething(u) && !c.ours(t) {
			what := article(types.TypeString(t, c.qual))
			if path == "" {
				return what + " cannot cross as JSON: it has no exported fields"
			}
			c.lost = append(c.lost, path+" ("+what+" has no exported fields)")
			return ""
		}
		for i := range u.NumFields() {
			f := u.Field(i)
			name := join(path, f.Name())
			tag := reflect.StructTag(u.Tag(i)).Get("json")
			switch {
			case tag == "-":
				c.lost = append(c.lost, name+` (tagged json:"-")`)
				continue
			case !f.Exported() && !f.Embedded():
				c.lost = append(c.lost, name+" (unexported)")
				continue
			}
			if why := c.walk(f.Type(), name); why != "" {
				return why
			}
		}
	}
	return ""
}

// at says where in the value a failure is: in field path ("" at the top).
func at(why, path string) string {
	if path == "" {
		return why
	}
	return why + " (field " + path + ")"
}

// article puts "a" or "an" before a type's name.
func article(name string) string {
	if name != "" && strings.ContainsRune("aeiouAEIOU", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// ours tells a type the notebook declares.
func (c *crosser) ours(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() == c.nb
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// carriesSomething tells whether JSON carries anything of a struct: an
// exported field, or an embedded one (whose exported fields are promoted).
func carriesSomething(s *types.Struct) bool {
	for i := range s.NumFields() {
		f := s.Field(i)
		if (f.Exported() || f.Embedded()) && reflect.StructTag(s.Tag(i)).Get("json") != "-" {
			return true
		}
	}
	return false
}

// marshals tells whether t (or *t) encodes itself: a MarshalJSON or
// MarshalText method (time.Time, big.Int).
func marshals(t types.Type) bool {
	if _, ok := t.Underlying().(*types.Interface); ok {
		return false
	}
	ms := types.NewMethodSet(types.NewPointer(t))
	for _, m := range []string{"MarshalJSON", "MarshalText"} {
		for i := range ms.Len() {
			if ms.At(i).Obj().Name() == m {
				return true
			}
		}
	}
	return false
}

// mapKeyCrosses tells a map key type JSON can encode: a string, an
// integer, or a type that marshals itself as text.
func mapKeyCrosses(k types.Type) bool {
	if b, ok := k.Underlying().(*types.Basic); ok && b.Info()&(types.IsString|types.IsInteger) != 0 {
		return true
	}
	ms := types.NewMethodSet(types.NewPointer(k))
	for i := range ms.Len() {
		if ms.At(i).Obj().Name() == "MarshalText" {
			return true
		}
	}
	return false
}

// note is the sentence a run shows about a variable that does not cross
// whole.
func (v Var) note() string {
	switch v.Crossing {
	case Remade:
		return fmt.Sprintf("%s is made anew by its declaration: %s", v.Name, v.Why)
	case Zero:
		return fmt.Sprintf("%s starts at its zero value: %s", v.Name, v.Why)
	case Partly:
		return fmt.Sprintf("%s crosses as JSON without %s: they start at their zero values", v.Name, strings.Join(v.Lost, ", "))
	}
	return ""
}
