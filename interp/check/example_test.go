package check_test

import (
	"fmt"
	"os"

	"atonce/interp/check"
)

func ExampleChecker_AtMost() {
	c := check.New(os.Stdout)
	c.AtMost("tasks running at once", 2, 2)

	defer func() { fmt.Println("the cell fails with:", recover()) }()
	c.AtMost("tasks running at once", 3, 2, "a core runs one task at a time")
	// Output:
	// ✓ tasks running at once: 2 (at most 2)
	// the cell fails with: tasks running at once: got 3, want at most 2 (hint: a core runs one task at a time)
}
