package interp_test

import (
	"context"
	"fmt"

	"atonce/internal/enginemsg"
	"atonce/interp"
)

// printOutput is an Output that prints what it gets.
type printOutput struct{}

func (printOutput) Stream(name, text string)   { fmt.Printf("%s: %s", name, text) }
func (printOutput) Display(ev enginemsg.Event) { fmt.Println(ev.Kind, ev.Data["text/plain"]) }

func ExampleSession_Execute() {
	s, err := interp.New(interp.Options{Output: printOutput{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()
	s.Execute(ctx, `import "fmt"`)
	r := s.Execute(ctx, "x := 20\nfunc double(n int) int { return 2 * n }\nfmt.Println(\"x is\", x)\ndouble(x) + 2")
	fmt.Println("value:", r.Value["text/plain"])
	r = s.Execute(ctx, "y := x +\n")
	fmt.Println(r.Err.Name+":", r.Err.Value)
	// Output:
	// stdout: x is 20
	// value: 42
	// CompileError: 2:1: expected operand, found the end of the cell
}
