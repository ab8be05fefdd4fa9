package complete

import "testing"

func TestIsComplete(t *testing.T) {
	for _, tt := range []struct {
		name, code             string
		wantStatus, wantIndent string
	}{
		// complete
		{"empty", "", "complete", ""},
		{"blank", "  \n\t\n", "complete", ""},
		{"short var", "x := 1", "complete", ""},
		{"magic", "%time f()", "complete", ""},
		{"cell magic only", "%%time\n", "complete", ""},
		{"mixed", "import \"fmt\"\nx := 1\nfunc f() {}\nfmt.Println(x)", "complete", ""},
		{"func", "func f() int {\n\treturn 1\n}", "complete", ""},
		{"for clause", "for i := 0; i < 3; i++ {\n\tprintln(i)\n}", "complete", ""},
		{"comment", "// just a comment", "complete", ""},
		{"raw string", "s := `raw\nstring`", "complete", ""},
		{"increment", "x++", "complete", ""},
		{"return", "return", "complete", ""},
		{"magic then code", "%time\nx := 1", "complete", ""},
		{"semicolons", "import \"fmt\"; x := 1; fmt.Println(x)", "complete", ""},
		{"if header", "if x := 1; x > 0 { println(x) }; y := 2", "complete", ""},
		{"type", "type P struct {\n\tName string\n}", "complete", ""},
		{"else if header", "if a {\n} else if x := f(); x {\n}", "complete", ""},
		{"labeled for clause", "L: for i := 0; i < 3; i++ {\n}", "complete", ""},
		{"help request", "x := 1\nfmt.Println?", "complete", ""},
		// incomplete
		{"open func", "func f() {", "incomplete", "\t"},
		{"nested", "func f() {\n\tif true {", "incomplete", "\t\t"},
		{"one line two opens", "go func() {", "incomplete", "\t"},
		{"slice lit comma", "x := []int{\n\t1,", "incomplete", "\t"},
		{"call comma", "fmt.Println(1,", "incomplete", "\t"},
		{"raw unterminated", "s := `abc", "incomplete", ""},
		{"plus", "x := 1 +", "incomplete", "\t"},
		{"define", "x :=", "incomplete", "\t"},
		{"andand", "ok := a &&", "incomplete", "\t"},
		{"comma top", "a, b :=\n", "incomplete", "\t"},
		{"else", "if x {\n} else", "incomplete", ""},
		{"block comment", "/* comment", "incomplete", ""},
		{"var no type", "var x", "incomplete", ""},
		{"var no type, a newline", "var x\n", "incomplete", ""},
		{"type no type, a comment", "type T // soon\n", "incomplete", ""},
		{"cell magic then open", "%%time\nfunc f() {", "incomplete", "\t"},
		{"else if header open", "if a {\n} else if x := f(); x {", "incomplete", "\t"},
		{"magic in an open raw string", "s := `\n%time", "incomplete", ""},
		// invalid
		{"close first", "}", "invalid", ""},
		{"func func", "func func", "invalid", ""},
		{"two values", "x := 1 2", "invalid", ""},
		{"string newline", "fmt.Println(\"abc", "invalid", ""},
		{"mismatch", "(]", "invalid", ""},
		{"illegal char", "a := 1 @ 2", "invalid", ""},
		{"close paren", "x := )", "invalid", ""},
		{"bad decl", "func f() {}\nx := = 2\ny := 3", "invalid", ""},
		{"explicit semicolon after an operator", "x := 1 +;", "invalid", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, indent := IsComplete(tt.code)
			if status != tt.wantStatus || indent != tt.wantIndent {
				t.Errorf("IsComplete(%q) = %q, %q; want %q, %q", tt.code, status, indent, tt.wantStatus, tt.wantIndent)
			}
		})
	}
}
