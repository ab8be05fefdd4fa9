package sharing_test

import (
	"encoding/json"
	"fmt"

	"atonce/models"
	"atonce/models/sharing"
)

func Example() {
	cells := []string{
		"counter := 0\nvar hits atomic.Int64",
		"func work(i int) int {\n\tcounter++\n\thits.Add(1)\n\treturn i\n}",
	}
	st, err := sharing.Analyze(cells, "work")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range st.Vars {
		fmt.Printf("%s %s: %s write %q at %s\n", v.Name, v.Type, v.Guard, v.Op, v.Where)
	}

	g := func(counter, hits string) map[string]json.RawMessage {
		return map[string]json.RawMessage{"counter": json.RawMessage(counter), "hits": json.RawMessage(hits)}
	}
	tasks := make([]models.TaskRecord, 8)
	d := sharing.Diagnose(st, g("0", "0"), []models.Report{
		{Model: "sequential", Traits: models.TraitsOf("sequential"), Tasks: tasks, Globals: g("8000", "8000")},
		{Model: "threads", Traits: models.TraitsOf("threads"), Tasks: tasks, Globals: g("4720", "8000")},
	})
	for _, s := range d.Sentences {
		fmt.Println(s)
	}
	// Output:
	// counter int: bare write "counter++" at cell 2 line 2
	// hits atomic.Int64: atomic write "hits.Add(1)" at cell 2 line 3
	// sequential: the baseline: `counter` went from 0 to 8000 and `hits` went from 0 to 8000.
	// threads: 8 tasks wrote `counter` without synchronization; 41% of increments were lost (expected 8000, got 4720) — x += 1 is not atomic: don't count on it; `hits` is updated with sync/atomic; no update was lost.
}
