package magic

import (
	"context"
	"fmt"
	"html"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"atonce/internal/enginemsg"
)

func init() {
	Register(Command{Name: "lsmagic", Summary: "List the magics.", Usage: "%lsmagic", Line: true, Run: lsmagic})
	Register(Command{Name: "help", Summary: "Show a magic's usage, or a Go name's documentation.", Usage: "%help NAME   (or NAME?)", Line: true, Run: helpMagic})
	Register(Command{Name: "time", Summary: "Run code once and print its CPU and wall time.", Usage: "%time STATEMENT   or   %time -native STATEMENT   or   %%time [-native] on a cell's first line",
		Doc: "CPU time is the engine process's user and system time over the run (every goroutine's).\nThe statement's value, if any, is the cell's value.\n" +
			"-native runs the statement compiled by the Go toolchain, in the notebook's program (the notebook's variables start with their current values):\nthe CPU times are that program's, and the statement's value is not shown.", Line: true, Cell: true, Run: timeMagic})
	Register(Command{Name: "timeit", Summary: "Time code over many loops and runs (median and 95% interval).", Usage: "%timeit [-n LOOPS] [-r RUNS] [-native] STATEMENT   or   %%timeit [-n LOOPS] [-r RUNS] [-native] on a cell's first line",
		Doc: "The code is compiled once into a function and called in a loop, so the figure is the interpreted code's, not the compiler's.\nWithout -n, loops are chosen (1, 2, 5, 10, 20, 50, ...) so one run takes at least 0.2 s. Default runs: 7.\n" +
			"-native compiles the statement with the Go toolchain into the notebook's program (a function kept from being inlined, called in a loop\nthere, as go test -bench does) and gives the same statistics, labelled native.", Line: true, Cell: true, Run: timeit})
	Register(Command{Name: "who", Summary: "List the notebook's variables.", Usage: "%who", Line: true, Run: who})
	Register(Command{Name: "whos", Summary: "Table of the notebook's variables with types and values.", Usage: "%whos", Line: true, Run: whos})
	Register(Command{Name: "reset", Summary: "Forget every variable, function and type: a fresh interpreter.", Usage: "%reset", Line: true, Run: reset})
	Register(Command{Name: "env", Summary: "List, show or set environment variables of the engine.", Usage: "%env   |   %env NAME   |   %env NAME=VALUE", Line: true, Run: envMagic})
	Register(Command{Name: "goroutines", Summary: "List the goroutines cells left running.", Usage: "%goroutines", Line: true, Run: goroutines})
}

func lsmagic(ctx context.Context, env Env, c Call) Result {
	mu.RLock()
	var cmds []*Command
	for _, c := range commands {
		cmds = append(cmds, c)
	}
	mu.RUnlock()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	var line, cell []string
	var b strings.Builder
	for _, c := range cmds {
		if c.Line {
			line = append(line, "%"+c.Name)
		}
		if c.Cell {
			cell = append(cell, "%%"+c.Name)
		}
	}
	fmt.Fprintf(&b, "Line magics: %s\nCell magics: %s\n\n", strings.Join(line, "  "), strings.Join(cell, "  "))
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-12s %s\n", c.Name, c.Summary)
	}
	b.WriteString("\nName? or %help NAME shows a magic's usage; fmt.Println? shows Go documentation.\n")
	env.Print("stdout", b.String())
	return Result{}
}

func helpMagic(ctx context.Context, env Env, c Call) Result {
	if c.Args == "" {
		return lsmagic(ctx, env, c)
	}
	r := help(env, strings.TrimSpace(c.Args))
	if r.Page != "" {
		env.Print("stdout", r.Page)
		r.Page = ""
	}
	return r
}

// code returns the Go code a line or cell magic applies to.
func (c Call) code(args string) string {
	if c.Cell {
		return c.Body
	}
	return strings.Repeat("\n", c.Line-1) + strings.Repeat(" ", strings.Index(c.Args, args)+len(c.Name)+2) + args
}

func timeMagic(ctx context.Context, env Env, c Call) Result {
	if rest, ok := nativeFlag(c.Args); ok {
		stmt := rest
		if c.Cell {
			stmt = c.Body
		}
		if strings.TrimSpace(stmt) == "" {
			return Result{Err: userError("UsageError", "%time -native needs a statement: %time -native f(10)")}
		}
		if env.Replaying() {
			return Result{} // a native run changes no state
		}
		return nativeTime(ctx, env, stmt)
	}
	code := c.code(c.Args)
	if strings.TrimSpace(code) == "" {
		return Result{Err: userError("UsageError", "%time needs a statement: %time f(10)")}
	}
	cpu0, wall0 := cpuTime(), time.Now()
	r := env.Execute(ctx, code)
	wall, used := time.Since(wall0), cpuTime().minus(cpu0)
	user, sys := used.user, used.sys
	env.Print("stdout", fmt.Sprintf("CPU times: user %s, sys: %s, total: %s\nWall time: %s\n", human(user), human(sys), human(user+sys), human(wall)))
	return r
}

// nativeFlag tells whether args start with the flag -native, and returns
// what follows it.
func nativeFlag(args string) (rest string, ok bool) {
	args = strings.TrimSpace(args)
	rest, ok = strings.CutPrefix(args, "-native")
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return args, false
	}
	return strings.TrimSpace(rest), true
}

// sortedVars returns the notebook's variables and their sorted names,
// or says the namespace is empty.
func sortedVars(env Env) (map[string]reflect.Value, []string, bool) {
	vars := env.Vars()
	if len(vars) == 0 {
		env.Print("stdout", "Interactive namespace is empty.\n")
		return nil, nil, false
	}
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return vars, names, true
}

func who(ctx context.Context, env Env, c Call) Result {
	if _, names, ok := sortedVars(env); ok {
		env.Print("stdout", strings.Join(names, "\t")+"\n")
	}
	return Result{}
}

func whos(ctx context.Context, env Env, c Call) Result {
	vars, names, ok := sortedVars(env)
	if !ok {
		return Result{}
	}
	rows := [][3]string{{"Variable", "Type", "Data/Info"}}
	for _, n := range names {
		v := vars[n]
		rows = append(rows, [3]string{n, typeName(v), short(v)})
	}
	var w [3]int
	for _, r := range rows {
		for i, cell := range r {
			w[i] = max(w[i], len([]rune(cell)))
		}
	}
	var text, h strings.Builder
	h.WriteString("<table><thead><tr><th>Variable</th><th>Type</th><th>Data/Info</th></tr></thead><tbody>")
	for i, r := range rows {
		fmt.Fprintf(&text, "%-*s   %-*s   %s\n", w[0], r[0], w[1], r[1], r[2])
		if i == 0 {
			fmt.Fprintf(&text, "%s\n", strings.Repeat("-", w[0]+w[1]+w[2]+6))
			continue
		}
		fmt.Fprintf(&h, "<tr><td>%s</td><td><code>%s</code></td><td><code>%s</code></td></tr>", html.EscapeString(r[0]), html.EscapeString(r[1]), html.EscapeString(r[2]))
	}
	h.WriteString("</tbody></table>")
	env.Display(enginemsg.Bundle{"text/plain": text.String(), "text/html": h.String()})
	return Result{}
}

func typeName(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	if v.Kind() == reflect.Interface && !v.IsNil() {
		return v.Elem().Type().String()
	}
	return v.Type().String()
}

func short(v reflect.Value) string {
	if v.Kind() == reflect.Interface && !v.IsNil() {
		return short(v.Elem())
	}
	var s string
	switch v.Kind() {
	case reflect.String:
		str := v.String()
		n := 0
		for i := range str { // only 50 runes are shown: quote no more than 60
			if n == 60 {
				str = str[:i]
				break
			}
			n++
		}
		s = fmt.Sprintf("%q", str)
	case reflect.Slice, reflect.Array:
		if !v.CanAddr() && v.Kind() == reflect.Array {
			s = fmt.Sprintf("%d items: %v", v.Len(), v.Interface())
			break
		}
		// Only the first elements are formatted: a slice may be huge.
		s = fmt.Sprintf("%d items: %v", v.Len(), v.Slice(0, min(v.Len(), 20)).Interface())
	case reflect.Map, reflect.Chan:
		s = fmt.Sprintf("%d items", v.Len())
		if v.Kind() == reflect.Map && v.Len() <= 20 {
			s += fmt.Sprintf(": %v", v.Interface())
		}
	default:
		s = fmt.Sprintf("%v", v.Interface())
	}
	if r := []rune(s); len(r) > 50 {
		s = string(r[:47]) + "..."
	}
	return strings.ReplaceAll(s, "\n", " ")
}

func reset(ctx context.Context, env Env, c Call) Result {
	if err := env.Reset(); err != nil {
		return Result{Err: userError("ResetError", err.Error())}
	}
	env.Print("stdout", "atonce: state reset; earlier cells are forgotten.\n")
	return Result{Reset: true}
}

func envMagic(ctx context.Context, env Env, c Call) Result {
	args := strings.TrimSpace(c.Args)
	switch {
	case args == "":
		vars := os.Environ()
		sort.Strings(vars)
		env.Print("stdout", strings.Join(vars, "\n")+"\n")
	case strings.ContainsAny(args, "= \t"):
		name, value, _ := strings.Cut(args, "=")
		if !strings.Contains(args, "=") {
			name, value, _ = strings.Cut(args, " ")
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if name == "" {
			return Result{Err: userError("UsageError", "%env NAME=VALUE needs a name")}
		}
		if err := os.Setenv(name, value); err != nil {
			return Result{Err: userError("EnvError", err.Error())}
		}
		env.Print("stdout", fmt.Sprintf("env: %s=%s\n", name, value))
	default:
		v, ok := os.LookupEnv(args)
		if !ok {
			return Result{Err: userError("KeyError", fmt.Sprintf("environment variable %s is not set", args))}
		}
		return Result{Value: enginemsg.Bundle{"text/plain": fmt.Sprintf("%q", v)}}
	}
	return Result{}
}

func goroutines(ctx context.Context, env Env, c Call) Result {
	g := env.Goroutines()
	if g == "" {
		g = "no goroutines left running by cells\n"
	}
	env.Print("stdout", g)
	return Result{}
}

// human formats a duration like IPython: 3 significant digits and a unit
// of ns, µs, ms or s.
func human(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s == 0:
		return "0 ns"
	case s < 1e-6:
		return sig3(s*1e9) + " ns"
	case s < 1e-3:
		return sig3(s*1e6) + " µs"
	case s < 1:
		return sig3(s*1e3) + " ms"
	}
	return sig3(s) + " s"
}

func sig3(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}
