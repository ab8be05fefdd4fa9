package interp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
)

// Reset throws away every variable, function, type and import: the
// session gets a fresh interpreter (its output plumbing stays). Goroutines
// earlier cells left running go on with the old state.
func (s *Session) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setup(ctx); err != nil {
		return fmt.Errorf("resetting the interpreter: %w", err)
	}
	return nil
}

// Goroutines describes the goroutines that cells started and that are
// still alive, grouped by what they are doing; "" when there are none.
func (s *Session) Goroutines() string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return ""
	}
	type group struct {
		count int
		doing string
	}
	var groups []group
	total := 0
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	count := 0
	var frames []string
	labelled := false
	flush := func() {
		if labelled && count > 0 {
			groups = append(groups, group{count, doing(frames)})
			total += count
		}
		count, frames, labelled = 0, nil, false
	}
	for sc.Scan() {
		line := sc.Text()
		if n, rest, ok := strings.Cut(line, " @ "); ok && rest != "" {
			flush()
			count, _ = strconv.Atoi(n)
			continue
		}
		if labels, ok := strings.CutPrefix(line, "# labels: "); ok {
			labelled = strings.Contains(labels, strconv.Quote(labelKey))
			continue
		}
		if f, ok := strings.CutPrefix(line, "#"); ok {
			if fields := strings.Fields(f); len(fields) >= 2 {
				frames = append(frames, fields[1])
			}
		}
	}
	flush()
	if total == 0 {
		return ""
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].count > groups[j].count })
	var b strings.Builder
	fmt.Fprintf(&b, "%d goroutine(s) started by cells are still running:\n", total)
	for _, g := range groups {
		fmt.Fprintf(&b, "  %4d  %s\n", g.count, g.doing)
	}
	b.WriteString("An interrupt (■) stops them.\n")
	return b.String()
}

// doing says in words what a goroutine with these frames (innermost
// first) is doing.
func doing(frames []string) string {
	for _, f := range frames {
		switch {
		case strings.Contains(f, "atonce/models.Sleep"), strings.Contains(f, "time.Sleep"):
			return "sleeping (time.Sleep)"
		case strings.HasPrefix(f, "runtime.chanrecv"), strings.HasPrefix(f, "runtime.chansend"), strings.HasPrefix(f, "runtime.selectgo"), strings.HasPrefix(f, "reflect.rselect"), strings.HasPrefix(f, "reflect.chanrecv"), strings.HasPrefix(f, "reflect.chansend"):
			return "waiting on a channel"
		case strings.HasPrefix(f, "sync.(*Mutex)"), strings.HasPrefix(f, "sync.(*RWMutex)"), strings.HasPrefix(f, "sync.(*WaitGroup)"), strings.HasPrefix(f, "sync.(*Cond)"):
			return "waiting on a lock or WaitGroup"
		case strings.HasPrefix(f, "os.(*File).Read"), strings.HasPrefix(f, "internal/poll"):
			return "waiting for input/output"
		}
	}
	return "running"
}
