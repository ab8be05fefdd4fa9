package workerserve

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"atonce/models"
	"atonce/models/workermsg"
)

// Race runs task under the in-process model req names, in this process,
// and reports the data races Go's race detector saw, each attributed by
// address to the first of vars (the notebook's package-level variables,
// addressable) whose memory one of its accesses touched. The process must
// be built with the race detector (go build -race) and started as
// models.RaceCheck starts it: GORACE="halt_on_error=0 log_path=P" and
// workermsg.RaceLogEnv=P, so that the reports go to P.PID and not to
// stderr. Both the interpreter's worker and a native program answer
// workermsg.Race with it; they find the task, this runs and reads.
func Race(ctx context.Context, req workermsg.Race, task models.Task, vars map[string]reflect.Value) workermsg.Races {
	out := workermsg.Races{Model: req.Model}
	logPath := os.Getenv(workermsg.RaceLogEnv)
	if logPath == "" {
		out.Err = "this worker was not started to report data races"
		return out
	}
	logFile := logPath + "." + strconv.Itoa(os.Getpid())
	m, err := models.ByName(req.Model)
	if err != nil {
		out.Err = err.Error()
		return out
	}
	_ = os.Truncate(logFile, 0)
	if _, err := m.Run(ctx, task, models.Options{Workers: req.Workers}); err != nil {
		out.Err = err.Error()
	}
	f, err := os.Open(logFile)
	if os.IsNotExist(err) {
		return out // no report written: no race
	}
	if err != nil {
		out.Err = fmt.Sprintf("reading the race detector's log: %v", err)
		return out
	}
	defer f.Close()
	races, byVar, other, sample := parseRaces(bufio.NewScanner(f), variableSpans(vars))
	out.Races, out.Vars, out.Other, out.Sample = races, byVar, other, sample
	return out
}

// span is the memory of one notebook variable (or what it points to).
type span struct {
	name       string
	start, end uintptr
}

// variableSpans returns the memory each variable occupies, and for
// slices and pointers what they point to, where races on it show up.
func variableSpans(vars map[string]reflect.Value) []span {
	var out []span
	for name, v := range vars {
		if !v.CanAddr() {
			continue
		}
		start := v.UnsafeAddr()
		out = append(out, span{name, start, start + v.Type().Size()})
		switch v.Kind() {
		case reflect.Slice:
			if v.Len() > 0 {
				p := v.Pointer()
				out = append(out, span{name, p, p + uintptr(v.Len())*v.Type().Elem().Size()})
			}
		case reflect.Pointer:
			if !v.IsNil() {
				p := v.Pointer()
				out = append(out, span{name, p, p + v.Type().Elem().Size()})
			}
		}
	}
	return out
}

var raceAccess = regexp.MustCompile(`^\s*(?:Previous )?(?:[Aa]tomic )?(?:[Rr]ead|[Ww]rite) at 0x([0-9a-f]+) by`)

// parseRaces reads race detector reports and attributes each to the first
// notebook variable whose memory one of its accesses touched.
func parseRaces(sc *bufio.Scanner, spans []span) (races int, byVar map[string]int, other int, sample string) {
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var block []string
	var owner string
	flush := func() {
		if block == nil {
			return
		}
		races++
		if owner != "" {
			if byVar == nil {
				byVar = map[string]int{}
			}
			byVar[owner]++
		} else {
			other++
		}
		if sample == "" {
			sample = strings.Join(block[:min(len(block), 12)], "\n")
		}
		block, owner = nil, ""
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "WARNING: DATA RACE") {
			flush()
			block = []string{line}
			continue
		}
		if block == nil {
			continue
		}
		if strings.HasPrefix(line, "==================") {
			flush()
			continue
		}
		block = append(block, line)
		if m := raceAccess.FindStringSubmatch(line); m != nil && owner == "" {
			addr, err := strconv.ParseUint(m[1], 16, 64)
			if err != nil {
				continue
			}
			for _, s := range spans {
				if uintptr(addr) >= s.start && uintptr(addr) < s.end {
					owner = s.name
					break
				}
			}
		}
	}
	flush()
	return races, byVar, other, sample
}
