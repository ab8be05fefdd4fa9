package complete

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// testScope reads the notebook cells in testdata/scope.txt.
func testScope(t *testing.T) Scope {
	t.Helper()
	b, err := os.ReadFile("testdata/scope.txt")
	if err != nil {
		t.Fatal(err)
	}
	return Scope{Cells: strings.Split(string(b), "-- cell --\n")[1:]}
}

// cut splits a test input at the | marking the cursor, returning the code
// and the cursor in runes.
func cut(s string) (string, int) {
	i := strings.Index(s, "|")
	if i < 0 {
		return s, len([]rune(s))
	}
	return s[:i] + s[i+1:], len([]rune(s[:i]))
}

func TestComplete(t *testing.T) {
	sc := testScope(t)
	for _, tt := range []struct {
		name, code string
		want       []string // exactly these, or
		contains   []string // at least these (when want is nil)
		start, end int
	}{
		{"fmt member", "fmt.Spr", []string{"Sprint", "Sprintf", "Sprintln"}, nil, 4, 7},
		{"not imported std", "strings.ToU", []string{"ToUpper", "ToUpperSpecial"}, nil, 8, 11},
		{"alias import", "str.ToL", []string{"ToLower", "ToLowerSpecial"}, nil, 4, 7},
		{"builtins", "pri", nil, []string{"print", "println"}, 0, 3},
		{"keyword", "fallt", []string{"fallthrough"}, nil, 0, 5},
		{"user func", "comp", []string{"comparable", "complex", "complex128", "complex64", "compute"}, nil, 0, 4},
		{"user var and const", "coun", []string{"counter"}, nil, 0, 4},
		{"user const", "Gree", []string{"Greeting"}, nil, 0, 4},
		{"std package name", "strc", []string{"strconv"}, nil, 0, 4},
		{"method and fields", "p.", []string{"Dist", "Label", "X", "Y", "label"}, nil, 2, 2},
		{"var of user type", "q.D", []string{"Dist"}, nil, 2, 3},
		{"std type var", "w.WriteS", []string{"WriteString"}, nil, 2, 8},
		{"std type lit via alias", "sb.Le", []string{"Len"}, nil, 3, 5},
		{"std constructor result", "r.ReadR", []string{"ReadRune"}, nil, 2, 7},
		{"second result", "err.", []string{"Error"}, nil, 4, 4},
		{"call chain", "time.Now().UnixM", []string{"UnixMicro", "UnixMilli"}, nil, 11, 16},
		{"after a line that does not parse", "z := )\nb2 := strings.Builder{}\nb2.Gr", []string{"Grow"}, nil, 34, 36},
		{"local in current code", "func g() {\n\tvar b strings.Builder\n\tb.Gr|\n}", []string{"Grow"}, nil, 37, 39},
		{"non-ASCII prefix", "x := \"日本\"; cré", []string{"créme"}, nil, 11, 14},
		{"non-ASCII before selector", "// ü\nfmt.Printl", []string{"Println"}, nil, 9, 15},
		{"mid line cursor", "fmt.Spr| // é", []string{"Sprint", "Sprintf", "Sprintln"}, nil, 4, 7},
		{"in string", "s := \"fmt.Spr", nil, nil, 10, 13},
		{"in comment", "// fmt.Spr", nil, nil, 7, 10},
		{"unknown package", "nosuchpkg.F", nil, nil, 10, 11},
		{"number", "x := 1.5", nil, nil, 7, 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, cursor := cut(tt.code)
			got := Complete(sc, code, cursor)
			if got.CursorStart != tt.start || got.CursorEnd != tt.end {
				t.Errorf("Complete(%q) range = [%d,%d], want [%d,%d]", code, got.CursorStart, got.CursorEnd, tt.start, tt.end)
			}
			if tt.contains != nil {
				for _, w := range tt.contains {
					if !contains(got.Matches, w) {
						t.Errorf("Complete(%q) = %v, want it to contain %q", code, got.Matches, w)
					}
				}
				return
			}
			if !reflect.DeepEqual(got.Matches, tt.want) {
				t.Errorf("Complete(%q) = %v, want %v", code, got.Matches, tt.want)
			}
		})
	}
}

func TestCompleteSortedUnique(t *testing.T) {
	got := Complete(testScope(t), "s", 1).Matches
	if len(got) < 5 {
		t.Fatalf("Complete(\"s\") = %v, want many matches", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Errorf("Complete(\"s\") not sorted and unique at %d: got %q before %q", i, got[i-1], got[i])
		}
	}
	for _, w := range []string{"sb", "string", "strings", "struct", "switch"} {
		if !contains(got, w) {
			t.Errorf("Complete(\"s\") = %v, want it to contain %q", got, w)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
