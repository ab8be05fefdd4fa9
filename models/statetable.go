package models

import (
	"fmt"
	"html"
	"slices"
	"strings"
	"time"
)

// StateTable renders the time each report's tasks spent in each state
// and kind (StateTotals) as aligned plain text and an HTML <table>: a row
// per state, in StateTotals' order, a column per report (its Label), each
// cell the time in milliseconds and its share of the report's task time.
// Reports without states are left out; it returns "", "" when none has
// any.
func StateTable(reports []Report) (text, htmlTable string) {
	type col struct {
		name   string
		totals map[string]time.Duration
		all    time.Duration
	}
	var cols []col
	var keys []StateTotal // the rows, in order
	for _, r := range reports {
		totals := StateTotals(r)
		if len(totals) == 0 {
			continue
		}
		c := col{name: r.Label(), totals: map[string]time.Duration{}}
		for _, t := range totals {
			c.totals[t.State+"/"+t.Kind] = t.Time
			c.all += t.Time
			if !slices.ContainsFunc(keys, func(k StateTotal) bool { return k.State == t.State && k.Kind == t.Kind }) {
				keys = append(keys, t)
			}
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		return "", ""
	}
	slices.SortStableFunc(keys, func(a, b StateTotal) int { return stateRank(a.State, a.Kind) - stateRank(b.State, b.Kind) })
	header := []string{"time in state, ms (share of task time)"}
	for _, c := range cols {
		header = append(header, c.name)
	}
	var rows [][]string
	for _, k := range keys {
		row := []string{k.Label}
		for _, c := range cols {
			cell := ""
			if d := c.totals[k.State+"/"+k.Kind]; d > 0 {
				cell = fmt.Sprintf("%s (%.0f%%)", millis(d), 100*float64(d)/float64(c.all))
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	text, table := RenderTable(header, rows)
	const title = "Time in each state, summed over each model's tasks (from the execution tracer)"
	var hb strings.Builder
	fmt.Fprintf(&hb, "<p><b>%s</b></p>\n%s", html.EscapeString(title), table)
	return title + "\n" + text, hb.String()
}
