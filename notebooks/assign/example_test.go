package assign_test

import (
	"fmt"

	"atonce/notebooks/assign"
)

func ExampleClearSolutions() {
	student, err := assign.ClearSolutions(`%%models -n 4 -models sequential,eventloop -o ex2
func Hop(i int) int {
	// BEGIN SOLUTION
	time.Sleep(time.Millisecond)
	return 1
	// END SOLUTION
}`)
	fmt.Println(student, err)
	// Output:
	// %%models -n 4 -models sequential,eventloop -o ex2
	// func Hop(i int) int {
	// 	// YOUR CODE HERE
	// 	panic("not implemented")
	// } <nil>
}
