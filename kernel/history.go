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

// historyRequest is the content of history_request.
type historyRequest struct {
	Output         bool   `json:"output"`
	Raw            bool   `json:"raw"`
	HistAccessType string `json:"hist_access_type"`
	Session        int    `json:"session"`
	Start          int    `json:"start"`
	Stop           int    `json:"stop"`
	N              int    `json:"n"`
	Pattern        string `json:"pattern"`
	Unique         bool   `json:"unique"`
}

// query answers a history request with [session, line, input] or
// [session, line, [input, output]] triples.
func (h *history) query(r historyRequest) [][]any {
	h.mu.Lock()
	entries := append([]historyEntry(nil), h.entries...)
	h.mu.Unlock()

	var picked []historyEntry
	switch r.HistAccessType {
	case "tail":
		picked = entries
		if r.N >= 0 && r.N < len(picked) {
			picked = picked[len(picked)-r.N:]
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
		pattern := r.Pattern
		if pattern == "" {
			pattern = "*"
		}
		seen := map[string]bool{}
		// Walk newest first so unique keeps the latest occurrence.
		for i := len(entries) - 1; i >= 0; i-- {
			e := entries[i]
			if !globMatch(pattern, e.input) {
				continue
			}
			if r.Unique && seen[e.input] {
				continue
			}
			seen[e.input] = true
			picked = append([]historyEntry{e}, picked...)
		}
		if r.N > 0 && r.N < len(picked) {
			picked = picked[len(picked)-r.N:]
		}
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

// globMatch matches IPython-style history globs: * is any run of bytes
// (newlines included), ? is one byte.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
