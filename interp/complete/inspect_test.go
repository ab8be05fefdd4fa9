package complete

import (
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	sc := testScope(t)
	for _, tt := range []struct {
		name, code string
		detail     int
		want       []string // substrings of the text
		notWant    []string
		found      bool
	}{
		{"std func", "fmt.Println", 0, []string{"func Println(a ...any)", "Println formats using the default formats"}, nil, true},
		{"cursor inside name", "fmt.Pri|ntln(x)", 0, []string{"func Println("}, nil, true},
		{"inside call args", "fmt.Println(\"a\", |)", 0, []string{"func Println("}, nil, true},
		{"std type", "strings.Builder", 0, []string{"type Builder struct", "func (b *Builder) WriteString(s string) (int, error)"}, []string{"addr"}, true},
		{"std after import", "import \"net/http\"\nhttp.Get", 0, []string{"func Get(url string) (resp *Response, err error)", "GET"}, nil, true},
		{"std var", "os.Args", 0, []string{"var Args []string", "command-line arguments"}, nil, true},
		{"std method via var", "w.WriteString", 0, []string{"func (b *Builder) WriteString", "appends the contents of s"}, nil, true},
		{"package", "fmt", 0, []string{"package fmt // import \"fmt\"", "formatted I/O"}, []string{"# Printing"}, true},
		{"builtin", "len", 0, []string{"func len(v Type) int", "length of v"}, nil, true},
		{"user func", "compute", 0, []string{"// compute adds one to n.", "func compute(n int) int"}, []string{"return n + 1"}, true},
		{"user func detail", "compute", 1, []string{"func compute(n int) int {", "return n + 1"}, nil, true},
		{"user method", "p.Dist", 0, []string{"// Dist returns", "func (p *Point) Dist() float64"}, nil, true},
		{"user type", "Point", 0, []string{"// Point is a spot on a plane.", "type Point struct {", "label string", "func (p *Point) Dist() float64"}, nil, true},
		{"user field", "p.label", 0, []string{"field label string in Point", "// shown when printed"}, nil, true},
		{"user var", "counter", 0, []string{"var counter int"}, nil, true},
		{"user const", "Greeting", 0, []string{"// Greeting is what hello says.", "const Greeting = \"hello\""}, nil, true},
		{"short var decl", "n", 0, []string{"n, err := strconv.Atoi(\"12\")"}, nil, true},
		{"non-ASCII name", "x := ünïcode", 0, []string{"ünïcode := \"ü\""}, nil, true},
		{"unknown", "nosuchname", 0, nil, nil, false},
		{"unknown member", "fmt.NoSuchFunc", 0, nil, nil, false},
		{"unexported std", "fmt.newPrinter", 0, nil, nil, false},
		{"keyword", "func", 0, nil, nil, false},
		{"nothing at cursor", "x := 1 + |", 0, nil, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, cursor := cut(tt.code)
			got, found := Inspect(sc, code, cursor, tt.detail)
			if found != tt.found {
				t.Fatalf("Inspect(%q) found = %v, want %v (text %q)", code, found, tt.found, got)
			}
			if !found && got != "" {
				t.Errorf("Inspect(%q) = %q with found = false, want empty text", code, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Inspect(%q) = %q, want it to contain %q", code, got, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("Inspect(%q) = %q, want it without %q", code, got, w)
				}
			}
		})
	}
}
