package gosrc

import (
	"go/ast"
	"go/parser"
	"strings"
	"testing"
)

// With Items a top-level item that does not parse leaves the others
// parsed (TestParseGroups shows how items are cut).
func TestParseItems(t *testing.T) {
	c := Parse("x := )\ny := 2", Options{Items: true})
	if len(c.Groups) != 2 || c.Groups[0].Err == nil || c.Groups[0].File == nil || c.Groups[1].Err != nil || len(c.Groups[1].Decls) != 1 {
		t.Errorf("a broken item: got %s, want it with errors and a partial tree, and y := 2 parsed and declared", groupsString(c, true))
	}
}

// With parser.ParseComments a declaration's doc comment is in its group
// and its tree, as go/parser reads it in a file of its own.
func TestParseDocComments(t *testing.T) {
	docOf := func(g *Group) *ast.CommentGroup {
		switch d := g.File.Decls[0].(type) {
		case *ast.FuncDecl:
			return d.Doc
		case *ast.GenDecl:
			return d.Doc
		}
		return nil
	}
	for _, tt := range []struct {
		name, src string
		group     int    // the group of the declaration
		text      string // its text, first line
		doc       string // its doc comment's text
	}{
		{"on the first line", "// F does.\nfunc F() {}", 0, "// F does.", "F does.\n"},
		{"after an import", "import \"fmt\"\n\n// Greeting is what hello says.\nconst Greeting = \"hi\"", 1, "// Greeting is what hello says.", "Greeting is what hello says.\n"},
		{"two lines", "x := 1\n// a\n// b\ntype T int", 1, "// a", "a\nb\n"},
		{"block comment", "/*T is.*/\ntype T int", 0, "/*T is.*/", "T is.\n"},
		{"none", "func F() {}", 0, "func F() {}", ""},
		{"apart from its declaration", "// not a doc\n\nfunc F() {}", 0, "// not a doc", ""},
		{"a magic line blanked before it", "       \n// F does.\nfunc F() {}", 0, "// F does.", "F does.\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Parse(tt.src, Options{Mode: parser.ParseComments, Items: true})
			if len(c.Groups) <= tt.group || c.Err != nil {
				t.Fatalf("Parse(%q): got %s (errors %v), want group %d", tt.src, groupsString(c, true), c.Err, tt.group)
			}
			g := c.Groups[tt.group]
			if got, _, _ := strings.Cut(g.Text(), "\n"); got != tt.text {
				t.Errorf("group %d starts %q, want %q", tt.group, got, tt.text)
			}
			if got := docOf(g).Text(); got != tt.doc {
				t.Errorf("doc comment %q, want %q", got, tt.doc)
			}
			for _, cg := range g.File.Comments {
				for _, cm := range cg.List {
					if strings.Contains(cm.Text, "line ") {
						t.Errorf("comment %q: the wrapper's line directive is in the tree", cm.Text)
					}
				}
			}
		})
	}
	if c := Parse("// nothing\n", Options{Mode: parser.ParseComments}); len(c.Groups) != 0 {
		t.Errorf("a comment alone: got %s, want no group", groupsString(c, false))
	}
}
