package modelrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"atonce/interp/magic"
	"atonce/models"
	"atonce/models/perfetto"
)

// export writes what the spec asks to keep of the runs — the execution
// traces (-trace DIR), the Perfetto JSON (-perfetto FILE) — and says
// where, or why it could not.
func export(env magic.Env, reports []models.Report, spec Spec) {
	if spec.TraceDir != "" {
		dir, files, err := WriteTraces(spec.TraceDir, reports)
		switch {
		case err != nil:
			env.Print("stderr", "atonce: "+err.Error()+"\n")
		case len(files) == 0:
			env.Print("stderr", "atonce: no execution trace to keep in "+dir+": no run was traced\n")
		default:
			env.Print("stdout", fmt.Sprintf("atonce: %d execution trace(s) in %s: %s (open one with go tool trace FILE, or gotraceui)\n", len(files), dir, strings.Join(files, ", ")))
		}
	}
	if spec.Perfetto != "" {
		path, err := WritePerfetto(spec.Perfetto, reports)
		if err != nil {
			env.Print("stderr", "atonce: "+err.Error()+"\n")
		} else {
			env.Print("stdout", "atonce: the runs as a Perfetto trace in "+path+" (open it at ui.perfetto.dev)\n")
		}
	}
}

// TraceFiles names the execution traces the reports keep
// (models.Report.Trace), file name to trace: MODEL-MODE.trace for the
// process's trace of an in-process model, MODEL-MODE-workerK.trace for
// worker K's (MODEL-MODE-workerK-2.trace for a second tracer of its).
// A report without a mode is interpreted.
func TraceFiles(reports []models.Report) map[string][]byte {
	files := map[string][]byte{}
	for _, r := range reports {
		if r.Trace == nil {
			continue
		}
		mode := r.Mode
		if mode == "" {
			mode = models.Interpreted
		}
		base := r.Model + "-" + string(mode)
		if len(r.Trace.Process) > 0 {
			files[base+".trace"] = r.Trace.Process
		}
		for k, traces := range r.Trace.Workers {
			for part, t := range traces {
				name := fmt.Sprintf("%s-worker%d", base, k)
				if part > 0 {
					name += fmt.Sprintf("-%d", part+1)
				}
				files[name+".trace"] = t
			}
		}
	}
	return files
}

// WriteTraces writes the reports' execution traces (TraceFiles) into
// dir, made if missing, and returns dir as an absolute path and the
// files' names, sorted.
func WriteTraces(dir string, reports []models.Report) (string, []string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir, nil, fmt.Errorf("-trace %s: %w", dir, err)
	}
	files := TraceFiles(reports)
	if len(files) == 0 {
		return abs, nil, nil
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return abs, nil, fmt.Errorf("-trace %s: cannot make the directory for the execution traces: %w", dir, err)
	}
	var names []string
	var errs []error
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(abs, name), data, 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	if err := errors.Join(errs...); err != nil {
		return abs, names, fmt.Errorf("-trace %s: writing the execution traces: %w", dir, err)
	}
	return abs, names, nil
}

// WritePerfetto writes the reports as Perfetto trace-event JSON to path
// (its directory must exist) and returns path made absolute.
func WritePerfetto(path string, reports []models.Report) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path, fmt.Errorf("-perfetto %s: %w", path, err)
	}
	f, err := os.Create(abs)
	if err != nil {
		return abs, fmt.Errorf("-perfetto %s: cannot write the Perfetto trace: %w", path, err)
	}
	werr := perfetto.Write(f, reports)
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(abs) // no half-written trace left behind
		return abs, fmt.Errorf("-perfetto %s: %w", path, err)
	}
	return abs, nil
}
