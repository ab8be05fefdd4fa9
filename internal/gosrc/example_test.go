package gosrc_test

import (
	"fmt"

	"atonce/internal/gosrc"
)

func ExampleParse() {
	c := gosrc.Parse("import \"math/rand/v2\"\ntype T int\nfunc (T) M() {}\nx := rand.IntN(3)\nx", gosrc.Options{})
	for _, g := range c.Groups {
		fmt.Printf("%s at %d:%d:", g.Kind, g.Line, g.Col)
		for _, im := range g.Imports {
			fmt.Printf(" import %s (%s)", im.Name, im.Path)
		}
		for _, d := range g.Decls {
			fmt.Printf(" %s %v", d.Kind, d.Names)
		}
		fmt.Println()
	}
	fmt.Println("ends with a value:", c.Last != nil)
	// Output:
	// import at 1:1: import rand (math/rand/v2)
	// decl at 2:1: type [T] method [T.M]
	// stmt at 4:1: var [x]
	// ends with a value: true
}

func ExampleImportName() {
	for _, path := range []string{"math/rand/v2", "gopkg.in/yaml.v3", "github.com/x/go-foo"} {
		fmt.Println(path, "binds", gosrc.ImportName(path))
	}
	// Output:
	// math/rand/v2 binds rand
	// gopkg.in/yaml.v3 binds yaml
	// github.com/x/go-foo binds foo
}
