package complete_test

import (
	"fmt"

	"atonce/interp/complete"
)

func ExampleComplete() {
	sc := complete.Scope{Cells: []string{`import "fmt"`}}
	c := complete.Complete(sc, "fmt.Spr", 7)
	fmt.Println(c.Matches, c.CursorStart, c.CursorEnd)
	// Output: [Sprint Sprintf Sprintln] 4 7
}

func ExampleInspect() {
	sc := complete.Scope{Cells: []string{"// double returns twice n.\nfunc double(n int) int { return 2 * n }"}}
	text, found := complete.Inspect(sc, "double(3)", 2, 0)
	fmt.Println(found)
	fmt.Println(text)
	// Output:
	// true
	// // double returns twice n.
	// func double(n int) int
}

func ExampleIsComplete() {
	for _, code := range []string{"x := 1", "func f() {", "}"} {
		status, indent := complete.IsComplete(code)
		fmt.Printf("%q %q\n", status, indent)
	}
	// Output:
	// "complete" ""
	// "incomplete" "\t"
	// "invalid" ""
}
