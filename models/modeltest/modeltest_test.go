package modeltest_test

import (
	"context"
	"testing"

	"atonce/models"
	"atonce/models/modeltest"
)

// named is a Model of one's own, built on an existing one, as a model
// outside this module would be: it must pass the suite too.
type named struct{ models.Threads }

func (named) Name() string { return "mythreads" }

// Traits are the threads model's under the new name.
func (n named) Traits() models.Traits {
	t := n.Threads.Traits()
	t.Name = n.Name()
	return t
}

func (n named) Run(ctx context.Context, t models.Task, opt models.Options) (models.Report, error) {
	if p := opt.Progress; p != nil {
		opt.Progress = func(_ string, done, total int) { p(n.Name(), done, total) }
	}
	rep, err := n.Threads.Run(ctx, t, opt)
	rep.Model, rep.Traits = n.Name(), n.Traits()
	return rep, err
}

func TestRun(t *testing.T) {
	modeltest.Run(t, named{})
}
