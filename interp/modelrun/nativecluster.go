package modelrun

import (
	"context"

	"atonce/interp/native"
	"atonce/models/distributed"
)

// NativeCluster returns the engine's cluster (started if need be, as for
// an interpreted run) as the native program p's, for a distributed run of
// it: the run's Remote.Cluster, with a state of p's version
// (models/native.Version(p.Hash)). bin is p built for this machine, which
// the cluster's local workers run; for each other platform among the
// workers that joined (which need no Go toolchain) the run has b build p,
// cross-compiled, and sends them the binary through the NATS server.
func NativeCluster(ctx context.Context, b *native.Builder, p *native.Program, bin *native.Binary) (*distributed.Native, error) {
	c, err := Cluster(ctx)
	if err != nil {
		return nil, err
	}
	return c.Native(distributed.NativeProgram{
		Source: p.Hash,
		Binary: bin.Path,
		Build: func(ctx context.Context, goos, goarch string) (string, error) {
			built, err := b.Build(ctx, p, native.Options{GOOS: goos, GOARCH: goarch})
			if err != nil {
				return "", err
			}
			return built.Path, nil
		},
	}), nil
}
