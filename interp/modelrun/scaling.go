package modelrun

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"atonce/internal/words"
	"atonce/models"
	"atonce/models/stats"
)

// parseWorkers reads -workers: one count K (Spec.Workers, every model
// but the baseline), or a list of counts, e.g. 1,2,4,8 (Spec.Scale: the
// parallel models once more at each count, beside the baseline).
func parseWorkers(arg string, spec *Spec) error {
	if !strings.Contains(arg, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(arg))
		if err != nil {
			return fmt.Errorf("give a number of workers, or a list of them such as 1,2,4,8")
		}
		spec.Workers = k
		return nil
	}
	spec.Scale = nil
	for _, f := range strings.Split(arg, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 || k > MaxWorkers {
			return fmt.Errorf("%q is not a number of workers between 1 and %d: give a list such as 1,2,4,8", strings.TrimSpace(f), MaxWorkers)
		}
		if !slices.Contains(spec.Scale, k) {
			spec.Scale = append(spec.Scale, k)
		}
	}
	if len(spec.Scale) < 2 {
		return fmt.Errorf("a list of worker counts needs two or more different counts, such as 1,2,4,8")
	}
	slices.Sort(spec.Scale)
	return nil
}

// checkScale tells what is wrong with a spec's -workers list, once its
// models are known: it needs the baseline to measure speedups against, a
// parallel model to scale, and no more worker processes than a model
// that starts a process per worker may start.
func checkScale(spec Spec) error {
	if len(spec.Scale) == 0 {
		return nil
	}
	list := joinInts(spec.Scale)
	if !anyModel(spec.Models, isBaseline) {
		return fmt.Errorf("-workers %s measures speedups over %s: include it, e.g. %%%%models -models %s -workers %s", list, strings.Join(baselineOnly(), ""), strings.Join(append(baselineOnly(), spec.Models...), ","), list)
	}
	if len(scaledModels(spec)) == 0 {
		return fmt.Errorf("-workers %s scales the parallel models (%s), and this run has none of them", list, words.JoinAnd(models.NamesWith(isParallel)))
	}
	if most := slices.Max(spec.Scale); most > MaxProcessWorkers && anyModel(scaledModels(spec), inWorkers) {
		return fmt.Errorf("-workers %s: %s start a process per worker; choose at most %d", list, words.JoinAnd(models.NamesWith(inWorkers)), MaxProcessWorkers)
	}
	return nil
}

func isParallel(t models.Traits) bool { return t.Parallel && !t.Baseline }

// scaledModels are the spec's models a -workers list scales: the
// parallel ones.
func scaledModels(spec Spec) []string {
	var out []string
	for _, name := range spec.Models {
		if isParallel(models.TraitsOf(name)) {
			out = append(out, name)
		}
	}
	return out
}

// joinInts is "1,2,4,8".
func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// scaleRounds is how many rounds the scaling sweep takes: -repeat's, else
// the fewest that give a 95% interval.
func scaleRounds(spec Spec) int {
	if spec.Repeat > 1 {
		return spec.Repeat
	}
	return stats.MinRounds(models.Conf)
}

// Scale runs the spec's parallel models at each of its worker counts
// (Spec.Scale), in each of its modes, taking turns round by round with
// the baseline: in each round the baseline runs, then every parallel
// model at every count, each from the notebook's variables as they were
// when Scale began, which it puts back at the end. It returns how each
// model's speedup grew with its workers (models.Scaling, Amdahl's law
// fitted), labelled as the table labels them. say tells which run is
// under way.
func Scale(ctx context.Context, nb Notebook, spec Spec, progress Progress, say func(string)) ([]models.Scaling, error) {
	scaled := scaledModels(spec)
	base := baselineOnly()
	if len(spec.Scale) == 0 || len(scaled) == 0 || len(base) == 0 {
		return nil, nil
	}
	if len(spec.Modes) == 0 {
		spec.Modes = []models.Mode{models.Interpreted}
	}
	start := Snapshot(nb.Vars())
	rounds := scaleRounds(spec)
	labelled := spec.has(models.Native)
	type slot struct {
		model string
		mode  models.Mode
	}
	baseWalls := map[models.Mode][]time.Duration{}
	walls := map[slot][][]time.Duration{}
	cores := map[models.Mode]int{}
	var errs []error
	for r := range rounds {
		for _, mode := range spec.Modes {
			row := map[string][]time.Duration{}
			for _, name := range scaled {
				row[name] = make([]time.Duration, len(spec.Scale))
			}
			var baseWall time.Duration
			for i, k := range spec.Scale {
				sub := spec
				sub.Models, sub.Workers, sub.Repeat, sub.Modes, sub.Scale, sub.Race = scaled, k, 1, []models.Mode{mode}, nil, false
				if i == 0 {
					sub.Models = append(slices.Clone(base), scaled...)
				}
				if say != nil {
					say(fmt.Sprintf("scaling, round %d of %d: %s with %d workers each", r+1, rounds, strings.Join(scaled, ", "), k))
				}
				if err := start.Restore(nb.Vars()); err != nil {
					return nil, fmt.Errorf("putting the notebook's variables back before scaling: %w", err)
				}
				reps, err := Run(ctx, nb, sub, Hooks{Progress: progress})
				if err != nil {
					if ctx.Err() != nil {
						return nil, err
					}
					errs = append(errs, err)
				}
				for _, rep := range reps {
					switch {
					case rep.Baseline:
						if rep.Err == "" {
							baseWall = rep.Wall
						}
					case rep.Err == "" && !slices.ContainsFunc(rep.Tasks, func(t models.TaskRecord) bool { return t.Err != "" }):
						row[rep.Model][i] = rep.Wall
						cores[mode] = max(cores[mode], rep.Cores())
					}
				}
			}
			baseWalls[mode] = append(baseWalls[mode], baseWall)
			for _, name := range scaled {
				s := slot{name, mode}
				walls[s] = append(walls[s], row[name])
			}
		}
	}
	if err := start.Restore(nb.Vars()); err != nil {
		return nil, fmt.Errorf("putting the notebook's variables back after scaling: %w", err)
	}
	var out []models.Scaling
	for _, mode := range spec.Modes {
		for _, name := range scaled {
			label := name
			if labelled {
				label = models.Report{Model: name, Mode: mode}.Label()
			}
			c := cores[mode]
			if c == 0 {
				c = runtime.NumCPU()
			}
			s := models.Scaling{Model: label, Mode: mode, Traits: models.TraitsOf(name), Baseline: strings.Join(base, ""), Cores: c, Workers: spec.Scale}
			out = append(out, s.Measure(baseWalls[mode], walls[slot{name, mode}]))
		}
	}
	return out, errors.Join(errs...)
}
