package complete

import "testing"

// FuzzRequests checks that no input makes a request panic and that the
// completion range stays within the code.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{"fmt.Spr", "p.", "func f() {\n\tb.", "x := `raw", "héllo.wörld(", "}{)(", "time.Now().", "%time\nx"} {
		f.Add(s, len(s))
	}
	sc := Scope{Cells: []string{"type T struct{ T; a []T }\nvar t T\nfunc (T) M() T { return T{} }"}}
	f.Fuzz(func(t *testing.T, code string, cursor int) {
		c := Complete(sc, code, cursor)
		n := len([]rune(code))
		if c.CursorStart < 0 || c.CursorStart > c.CursorEnd || c.CursorEnd > n {
			t.Errorf("Complete(%q, %d) range = [%d,%d], want within [0,%d]", code, cursor, c.CursorStart, c.CursorEnd, n)
		}
		Inspect(sc, code, cursor, 1)
		IsComplete(code)
	})
}
