package enginetest_test

import (
	"context"
	"testing"

	"atonce/kernel"
	"atonce/kernel/enginetest"
	"atonce/kernel/supervisor"
)

// An engine's test runs the contract with a fresh engine per check and
// the cells in its language. This one is atonce's engine, run by the
// binary at bin (kernel/enginecontract_test.go does this).
func ExampleRun() {
	testEngine := func(t *testing.T, bin string) {
		enginetest.Run(t, func(t *testing.T) kernel.Engine {
			sup, err := supervisor.New(supervisor.Options{Command: []string{bin, "engine"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := sup.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			return sup
		}, enginetest.Go)
	}
	_ = testEngine // call it from a Test function
}
