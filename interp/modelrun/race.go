package modelrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"atonce/internal/childproc"
	"atonce/internal/enginemsg"
	"atonce/internal/scratch"
	"atonce/interp/magic"
	"atonce/models"
	"atonce/models/workermsg"
)

// raceBuildMu serializes builds of the race-detector worker.
var raceBuildMu sync.Mutex

// raceWorker returns the command that starts a worker built with Go's
// race detector, building it into the user's cache the first time (a
// minute or so; later runs reuse it until the atonce binary changes). The
// cache keeps only this build's worker. say tells the user what is going
// on.
func raceWorker(ctx context.Context, say func(string)) ([]string, error) {
	if config.SourceDir == "" || len(config.WorkerCommand) == 0 {
		return nil, fmt.Errorf("-race builds a race-detector worker from atonce's source, and this atonce binary does not know where its source is: build it with `make build` in the atonce repository")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("-race builds a race-detector worker with the Go toolchain (go build -race), and there is no `go` on PATH: install Go %s or later", "1.26")
	}
	exe := config.WorkerCommand[0]
	fi, err := os.Stat(exe)
	if err != nil {
		return nil, fmt.Errorf("-race: cannot read the atonce binary: %w", err)
	}
	key := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d|%d", config.Version, exe, fi.Size(), fi.ModTime().UnixNano())))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "atonce", "race-"+hex.EncodeToString(key[:8]))
	bin := filepath.Join(dir, "atonce")
	raceBuildMu.Lock()
	defer raceBuildMu.Unlock()
	pruneRaceCache(filepath.Dir(dir), filepath.Base(dir))
	if _, err := os.Stat(bin); err == nil {
		return []string{bin, "worker", "-pipe"}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("-race: making %s: %w", dir, err)
	}
	if err := checkCCompiler(ctx, goBin); err != nil {
		return nil, err
	}
	say("building the race-detector worker (go build -race; the first time takes a minute or two)")
	// Another engine (another kernel on this machine) may be building the
	// same worker: each builds into its own file, and the renames are
	// atomic.
	f, err := os.CreateTemp(dir, raceTmpPrefix+scratch.Owner()+"-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("-race: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	env := append(os.Environ(), "CGO_ENABLED=1")
	if tmp, err := scratch.Dir(); err == nil {
		// go build's own work files: if the engine is killed mid-build,
		// the next engine removes them.
		env = append(env, "GOTMPDIR="+tmp)
	}
	// A child of the engine like any other: it dies with the engine.
	var outMu sync.Mutex
	var output strings.Builder
	build, err := childproc.Start(childproc.Spec{
		Command: []string{goBin, "build", "-race",
			"-ldflags", "-X main.version=" + config.Version + " -X main.sourceDir=" + config.SourceDir,
			"-o", tmp, "."},
		Dir: config.SourceDir,
		Env: env,
		Stdout: func(b []byte) {
			outMu.Lock()
			output.Write(b)
			outMu.Unlock()
		},
		Stderr: func(line string) bool {
			outMu.Lock()
			output.WriteString(line + "\n")
			outMu.Unlock()
			return true
		},
	})
	if err != nil {
		return nil, fmt.Errorf("-race: %w", err)
	}
	stop := build.KillOnDone(ctx)
	err = build.Wait()
	stop()
	build.Reap()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if out := output.String(); err != nil {
		return nil, fmt.Errorf("-race: go build -race failed (the race detector needs cgo: a C compiler and the C library's headers; %s): %w\n%s", installCCompiler, err, strings.TrimSpace(out))
	}
	if err := os.Rename(tmp, bin); err != nil {
		return nil, fmt.Errorf("-race: %w", err)
	}
	return []string{bin, "worker", "-pipe"}, nil
}

// raceTmpPrefix starts the name of a race-detector worker being built,
// followed by its builder's scratch.Owner tag.
const raceTmpPrefix = "atonce-"

var raceTmpRE = regexp.MustCompile(`^atonce-(\d+-\d+)-\d+\.tmp$`)

// pruneRaceCache keeps only the race-detector worker keep in the cache
// directory root: it removes the workers of other builds, and builds that
// a dead engine left half done. A directory where a live engine is
// building (another kernel, another build), or where a build of unknown
// owner is under way (an older atonce's), is left alone.
func pruneRaceCache(root, keep string) {
	dirs, _ := filepath.Glob(filepath.Join(root, "race-*"))
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		building := false
		for _, e := range entries {
			m := raceTmpRE.FindStringSubmatch(e.Name())
			switch {
			case m == nil && strings.HasSuffix(e.Name(), ".tmp"):
				building = true
			case m == nil:
			case scratch.Gone(m[1]):
				os.Remove(filepath.Join(dir, e.Name()))
			default:
				building = true
			}
		}
		if filepath.Base(dir) != keep && !building {
			os.RemoveAll(dir)
		}
	}
}

// installCCompiler says how to get what `go build -race` needs besides Go.
const installCCompiler = "on Debian: apt-get install gcc libc6-dev, which `make run` in atonce's repository does"

// checkCCompiler returns an error that says what to install when the C
// compiler cgo would call (`go env CC`, gcc unless $CC says otherwise) is
// not on PATH: `go build -race` needs it, and without it fails with
// `cgo: C compiler "gcc" not found`, which does not say what to do.
func checkCCompiler(ctx context.Context, goBin string) error {
	out, err := exec.CommandContext(ctx, goBin, "env", "CC").Output()
	if err != nil {
		return fmt.Errorf("-race: asking Go for its C compiler (go env CC): %w", err)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return fmt.Errorf("-race builds a race-detector worker with go build -race, which needs a C compiler, and Go names none (go env CC is empty): %s", installCCompiler)
	}
	if _, err := exec.LookPath(fields[0]); err != nil {
		return fmt.Errorf("-race builds a race-detector worker with go build -race, which needs cgo and so a C compiler, and there is no %s on PATH: %s", fields[0], installCCompiler)
	}
	return nil
}

// raceModels are the models a -race run checks: those in the spec whose
// tasks may interleave in the engine (Traits.Interleaves).
func raceModels(spec Spec) []string {
	var out []string
	for _, m := range spec.Models {
		if models.TraitsOf(m).Interleaves() {
			out = append(out, m)
		}
	}
	return out
}

// checkRaces runs the in-process models of the spec once more under the
// race detector, in each of the spec's modes (interpreted: in a
// race-detector worker; native: in the notebook's program built with
// -race), and shows what the detector found.
func checkRaces(ctx context.Context, env magic.Env, spec Spec, say func(string)) error {
	names := raceModels(spec)
	if len(names) == 0 {
		checked := strings.Join(models.NamesWith(models.Traits.Interleaves), ", ")
		env.Print("stderr", "atonce: -race checks the in-process models ("+checked+"); this run has none of them\n")
		return nil
	}
	var errs []error
	for _, mode := range spec.Modes {
		var err error
		if mode == models.Native {
			err = checkNativeRaces(ctx, env, spec, names, say)
		} else {
			err = checkInterpretedRaces(ctx, env, spec, names, say)
		}
		if err != nil && ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkInterpretedRaces runs the models names once more in a worker
// built with the race detector, which replays the notebook.
func checkInterpretedRaces(ctx context.Context, env magic.Env, spec Spec, names []string, say func(string)) error {
	command, err := raceWorker(ctx, say)
	if err != nil {
		return err
	}
	say("running " + strings.Join(names, ", ") + " under the race detector")
	rem := remote(env, spec, nil)
	races, err := models.RaceCheck(ctx, rem, command, names, spec.N, spec.Workers)
	if err != nil {
		return err
	}
	spec.verdict.addRaces(env, races, models.Interpreted)
	text, table := raceTable(races, models.Interpreted)
	env.Display(enginemsg.Bundle{"text/plain": text, "text/html": table})
	return nil
}

// checkNativeRaces runs the models names once more in the notebook's
// program built with -race, from the state the native runs started from.
func checkNativeRaces(ctx context.Context, env magic.Env, spec Spec, names []string, say func(string)) error {
	if spec.Native == nil {
		return nil
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		if err := checkCCompiler(ctx, goBin); err != nil {
			return err
		}
	}
	say("building the native program with the race detector (go build -race)")
	rb, err := spec.Native.build.Race(ctx)
	if err != nil {
		return fmt.Errorf("-race, native: %w", err)
	}
	say("running " + strings.Join(names, ", ") + " natively under the race detector")
	rem := &models.Remote{Func: spec.Func, State: rb.State, Output: func(_ int, o workermsg.Output) {
		if out := rb.Output(); out != nil {
			out(o)
		}
	}}
	races, err := models.RaceCheck(ctx, rem, rb.Command(), names, spec.N, spec.Workers)
	if err != nil {
		return err
	}
	spec.verdict.addRaces(env, races, models.Native)
	text, table := raceTable(races, models.Native)
	env.Display(enginemsg.Bundle{"text/plain": text, "text/html": table})
	return nil
}

// raceTable renders the race detector's findings of a run in mode, one
// row and one sentence per model.
func raceTable(races []workermsg.Races, mode models.Mode) (string, string) {
	var tb, hb strings.Builder
	if mode == models.Native {
		tb.WriteString("Race detector, native (each model run once more in the notebook's program built with go build -race)\n")
		hb.WriteString("<p><b>Race detector, native</b> (each model run once more in the notebook's program built with <code>go build -race</code>)</p>\n<ul>\n")
		for i := range races {
			races[i].Model += " (native)"
		}
	} else {
		tb.WriteString("Race detector (each model run once more in a worker built with go build -race)\n")
		hb.WriteString("<p><b>Race detector</b> (each model run once more in a worker built with <code>go build -race</code>)</p>\n<ul>\n")
	}
	for _, r := range races {
		line := raceSentence(r, mode)
		tb.WriteString("  " + line + "\n")
		fmt.Fprintf(&hb, "<li>%s</li>\n", html.EscapeString(line))
	}
	hb.WriteString("</ul>\n")
	for _, r := range races {
		if r.Sample != "" {
			tb.WriteString("\nFirst report under " + r.Model + ":\n" + r.Sample + "\n")
			fmt.Fprintf(&hb, "<details><summary>first report under %s</summary><pre>%s</pre></details>\n", html.EscapeString(r.Model), html.EscapeString(r.Sample))
			break
		}
	}
	return tb.String(), hb.String()
}

func raceSentence(r workermsg.Races, mode models.Mode) string {
	if r.Err != "" && r.Races == 0 {
		return fmt.Sprintf("%s: could not be checked: %s", r.Model, r.Err)
	}
	if r.Races == 0 {
		return fmt.Sprintf("%s: no data race found", r.Model)
	}
	var on []string
	names := make([]string, 0, len(r.Vars))
	for name := range r.Vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		on = append(on, fmt.Sprintf("%d on `%s`", r.Vars[name], name))
	}
	if r.Other > 0 {
		where := "the interpreter's own memory, or data reached through pointers"
		if mode == models.Native {
			where = "data reached through pointers, or the runtime's own"
		}
		on = append(on, fmt.Sprintf("%d elsewhere (%s)", r.Other, where))
	}
	s := fmt.Sprintf("%s: %d data race(s): %s", r.Model, r.Races, strings.Join(on, ", "))
	if r.Err != "" {
		s += " (" + r.Err + ")"
	}
	return s
}
