package kernel

import "sync"

// historySession is the session number history replies carry. The kernel
// keeps one session's history in memory; 0 in a request also means "this
// session", as in IPython.
const historySession = 1

// historyEntry is one stored cell.
type historyEntry struct {
	line   int
	input  string
	output *string // the cell's text/plain result, if any
}

// history is the in-memory input history of store_history cells.
type history struct {
	mu      sync.Mutex
	entries []historyEntry
}

func (h *history) add(line int, input string, output *string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.entries = append(h.entries, historyEntry{line: line, input: input, output: output})
}

// historyRequest is the content of history_request. N and Pattern are
// pointers because IPython tells a missing value from zero and "".
type historyRequest struct {
	Output         bool    `json:"output"`
	Raw            bool    `json:"raw"`
	HistAccessType string  `json:"hist_access_type"`
	Session        int     `json:"session"`
	Start          int     `json:"start"`
	Stop           int     `json:"stop"`
	N              *int    `json:"n"`
	Pattern        *string `json:"pattern"`
	Unique         bool    `json:"unique"`
}

// query answers a history request with [session, line, input] or
// [session, line, [input, output]] triples, oldest first.
func (h *history) query(r historyRequest) [][]any {
	h.mu.Lock()
	entries := append([]historyEntry(nil), h.entries...)
	h.mu.Unlock()

	var picked []historyEntry
	switch r.HistAccessType {
	case "tail":
		n := 0
		if r.N != nil {
			n = *r.N
		}
		picked = entries
		if n >= 0 && n < len(picked) {
			picked = picked[len(picked)-n:]
		}
	case "range":
		if r.Session != 0 && r.Session != historySession {
			break
		}
		for _, e := range entries {
			if e.line >= r.Start && (r.Stop <= 0 || e.line < r.Stop) {
				picked = append(picked, e)
			}
		}
	case "search":
		picked = search(entries, r.Pattern, r.Unique, r.N)
	}
	out := make([][]any, 0, len(picked))
	for _, e := range picked {
		if r.Output {
			var o any
			if e.output != nil {
				o = *e.output
			}
			out = append(out, []any{historySession, e.line, []any{e.input, o}})
		} else {
			out = append(out, []any{historySession, e.line, e.input})
		}
	}
	return out
}

// search is IPython's HistoryAccessor.search, which ipykernel answers
// history_request with: the cells whose whole input matches pattern as an
// SQLite GLOB (see globMatch), oldest first. A missing pattern matches
// nothing (GLOB NULL). With unique, a cell typed again counts once, at its
// latest line. With n, only the newest n matches are kept; a negative n is
// no limit (SQLite's LIMIT -1). No '*' is added around the pattern: that
// is what IPython's %history -g does on the client side.
func search(entries []historyEntry, pattern *string, unique bool, n *int) []historyEntry {
	if pattern == nil {
		return nil
	}
	var matched []historyEntry
	for _, e := range entries {
		if globMatch(*pattern, e.input) {
			matched = append(matched, e)
		}
	}
	if unique {
		latest := map[string]int{} // input -> its line of latest match
		for _, e := range matched {
			latest[e.input] = e.line
		}
		kept := matched[:0]
		for _, e := range matched {
			if latest[e.input] == e.line {
				kept = append(kept, e)
			}
		}
		matched = kept
	}
	if n != nil && *n >= 0 && *n < len(matched) {
		matched = matched[len(matched)-*n:]
	}
	return matched
}

// globMatch reports whether all of s matches pattern the way SQLite's GLOB
// operator does (IPython stores history in SQLite and searches it with
// GLOB): '*' matches any run of characters, newlines included; '?' matches
// one character; '[...]' matches one character of a set, with ranges
// ("[a-z]"), '^' first to negate it and ']' first to include it. Matching
// is case-sensitive and has no escape character: "[*]" matches a literal
// '*'. A set that is never closed matches nothing.
func globMatch(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0 // the last '*' seen, and where in s it started matching
	for si < len(str) {
		if pi < len(p) && p[pi] == '*' {
			star, mark = pi, si
			pi++
			continue
		}
		if pi < len(p) {
			if width, ok := matchOne(p[pi:], str[si]); ok {
				pi += width
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last '*' take one more character and try again.
		mark++
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchOne matches c against the element p starts with ('?', a set or a
// literal character; not '*') and returns the element's width.
func matchOne(p []rune, c rune) (width int, ok bool) {
	switch p[0] {
	case '?':
		return 1, true
	case '[':
		return matchSet(p, c)
	}
	return 1, p[0] == c
}

// matchSet matches c against the set p starts with, as SQLite does.
func matchSet(p []rune, c rune) (width int, ok bool) {
	i, invert, seen := 1, false, false
	if i < len(p) && p[i] == '^' {
		invert = true
		i++
	}
	if i < len(p) && p[i] == ']' {
		seen = c == ']'
		i++
	}
	prior, hasPrior := rune(0), false // the last literal, which may start a range
	for i < len(p) && p[i] != ']' {
		if p[i] == '-' && hasPrior && i+1 < len(p) && p[i+1] != ']' {
			if prior <= c && c <= p[i+1] {
				seen = true
			}
			hasPrior = false
			i += 2
			continue
		}
		if p[i] == c {
			seen = true
		}
		prior, hasPrior = p[i], true
		i++
	}
	if i == len(p) {
		return 0, false
	}
	return i + 1, seen != invert
}
