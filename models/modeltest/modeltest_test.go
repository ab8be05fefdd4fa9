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

func (n named) Run(ctx context.Context, t models.Task, opt models.Options) (models.Report, error) {
	if p := opt.Progress; p != nil {
		opt.Progress = func(_ string, done, total int) { p(n.Name(), done, total) }
	}
	rep, err := n.Threads.Run(ctx, t, opt)
	rep.Model = n.Name()
	return rep, err
}

func TestRun(t *testing.T) {
	modeltest.Run(t, named{})
}
