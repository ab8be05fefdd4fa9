package gosrc

import (
	"go/parser"
	"strings"
	"testing"
)

func TestSplitGroupsByKind(t *testing.T) {
	src := "package main\nimport \"fmt\"\nx := 1\nfunc F() {}\nfunc (r *T) M() {}\nfunc() { fmt.Println(x) }()\ntype T struct{}\nvar y = 2"
	var kinds []string
	for _, g := range Split(src) {
		kinds = append(kinds, g.Kind.String()+":"+strings.Fields(src[g.Start:g.End])[0])
	}
	want := "import:import stmt:x decl:func stmt:func() decl:type"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("Split kinds got %q, want %q", got, want)
	}
}

func TestBaseTypeName(t *testing.T) {
	for src, want := range map[string]string{"T": "T", "*T": "T", "(*T)": "T", "T[K]": "T", "*T[K, V]": "T", "[]T": "", "map[K]V": ""} {
		e, err := parser.ParseExpr(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := BaseTypeName(e); got != want {
			t.Errorf("BaseTypeName(%s) = %q, want %q", src, got, want)
		}
	}
}

func TestInLiteral(t *testing.T) {
	for code, want := range map[string]bool{"x := `open": true, "/* open": true, "x := `closed`": false, "// line comment": false, "s := \"%x\"": false} {
		if got := InLiteral(code); got != want {
			t.Errorf("InLiteral(%q) = %v, want %v", code, got, want)
		}
	}
}
