package distributed_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"atonce/internal/scratch"
	"atonce/models"
	"atonce/models/distributed"
	"atonce/models/modeltest"
	"atonce/models/workermsg"
)

// The test binary doubles as the cluster's local workers.
func TestMain(m *testing.M) {
	modeltest.ServeWorkerIfAsked()
	code := m.Run()
	scratch.Remove() // where the clusters' NATS stores were
	os.Exit(code)
}

// testCluster starts a cluster for t: an embedded NATS server whose
// local workers are the test binary, closed when t ends.
func testCluster(t *testing.T) *distributed.Cluster {
	t.Helper()
	c, err := distributed.StartCluster(context.Background(), distributed.ClusterOptions{
		Version:       modeltest.Version,
		WorkerCommand: []string{os.Args[0], modeltest.WorkerArg},
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatalf("starting a cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// clusterWorkers gives a cluster of its own to each check of the suite.
func clusterWorkers(t *testing.T) modeltest.Remote {
	c := testCluster(t)
	return func(fn string, st workermsg.State) *models.Remote {
		return &models.Remote{Func: fn, State: st, Cluster: c}
	}
}

func TestConformance(t *testing.T) {
	modeltest.RunWorkers(t, distributed.Model{}, clusterWorkers)
}

// TestRegistered checks that importing the package offers the model by
// name, with its traits, among the models that run in workers.
func TestRegistered(t *testing.T) {
	m, err := models.ByName("distributed")
	if err != nil {
		t.Fatalf("ByName(distributed): %v", err)
	}
	if _, ok := m.(distributed.Model); !ok {
		t.Errorf("ByName(distributed) got %T, want distributed.Model", m)
	}
	if got := models.TraitsOf("distributed"); got != (distributed.Model{}).Traits() {
		t.Errorf("TraitsOf(distributed) got %+v, want the model's traits", got)
	}
	hosts := models.NamesWith(func(t models.Traits) bool { return t.Hosts })
	if len(hosts) != 1 || hosts[0] != "distributed" {
		t.Errorf("models whose workers may be on other machines got %v, want [distributed]", hosts)
	}
}

// TestNoCluster checks that a run without a cluster says so, in the
// report too.
func TestNoCluster(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cluster models.Cluster
	}{
		{"none", nil},
		{"a nil cluster", (*distributed.Cluster)(nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			task := models.Task{Name: "F", N: 2, Remote: &models.Remote{Func: "F", Cluster: tt.cluster}}
			rep, err := distributed.Model{}.Run(t.Context(), task, models.Options{})
			want := "distributed: no NATS cluster to run on"
			if err == nil || err.Error() != want || rep.Err != want {
				t.Errorf("Run got error %v, report error %q; want %q in both", err, rep.Err, want)
			}
		})
	}
}
