package kernel_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"atonce/install/installtest"
	"atonce/kernel"
	"atonce/kernel/enginetest"
	"atonce/kernel/supervisor"
)

// TestFakeEngineContract holds the fake engine the kernel's tests use to
// the contract the real engine keeps (TestEngineContract), so the kernel
// is not tested against behaviour no engine has.
func TestFakeEngineContract(t *testing.T) {
	many := make([]string, enginetest.ManyLines)
	for i := range many {
		many[i] = "print " + strings.TrimSuffix(enginetest.ManyLine(i), "\n")
	}
	enginetest.Run(t, func(*testing.T) kernel.Engine { return kernel.NewFakeEngine() }, enginetest.Cells{
		Print:         "print " + strings.TrimSuffix(enginetest.Printed, "\n"),
		PrintMany:     strings.Join(many, "\n"),
		PrintFD1:      strings.Join(many, "\n"), // the fake has no other standard output
		Stderr:        "stderr " + strings.TrimSuffix(enginetest.Warned, "\n"),
		Value:         "value",
		Fail:          "fail " + enginetest.Failed,
		Block:         "print " + strings.TrimSuffix(enginetest.Blocking, "\n") + "\nblock",
		Input:         "input",
		Note:          "note the fake engine notes this",
		Complete:      "print hi\nva",
		CompleteMatch: "value",
		Incomplete:    "block {",
		Inspect:       "print",
	})
}

// TestEngineContract runs the contract on atonce's engine: the real
// binary's `atonce engine` process behind a Supervisor, as main.go starts
// it. The kernel package itself never links the interpreter.
func TestEngineContract(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real engines: skipped with -short")
	}
	bin := installtest.Binary(t)
	enginetest.Run(t, func(t *testing.T) kernel.Engine {
		sup, err := supervisor.New(supervisor.Options{
			Command: []string{bin, "engine"},
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := sup.Start(context.Background()); err != nil {
			t.Fatalf("starting the engine: %v", err)
		}
		return sup
	}, enginetest.Go)
}
