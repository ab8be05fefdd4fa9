package workerserve

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
)

// testdata/races.log is what a program built with -race wrote: two
// goroutines incrementing a variable (counter, at 0x5a8ad0) and what
// another points to (*other, at 0xc000094008).
func TestParseRaces(t *testing.T) {
	for _, tt := range []struct {
		name      string
		spans     []span
		wantVars  map[string]int
		wantOther int
	}{
		{"both known", []span{{"counter", 0x5a8ad0, 0x5a8ad8}, {"other", 0xc000094008, 0xc000094010}}, map[string]int{"counter": 1, "other": 1}, 0},
		{"one known", []span{{"counter", 0x5a8ad0, 0x5a8ad8}}, map[string]int{"counter": 1}, 1},
		{"address just past a variable", []span{{"counter", 0x5a8ac8, 0x5a8ad0}}, nil, 2},
		{"none known", nil, nil, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open("testdata/races.log")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			races, byVar, other, sample := parseRaces(bufio.NewScanner(f), tt.spans)
			if races != 2 || other != tt.wantOther || !reflect.DeepEqual(byVar, tt.wantVars) {
				t.Errorf("parseRaces got %d races, %v, %d other; want 2, %v, %d other", races, byVar, other, tt.wantVars, tt.wantOther)
			}
			if !strings.HasPrefix(sample, "WARNING: DATA RACE\nRead at 0x0000005a8ad0 by goroutine 8:") {
				t.Errorf("parseRaces got sample %q, want the first report's start", sample)
			}
		})
	}
}

func TestVariableSpans(t *testing.T) {
	n, s, p := 1, []int64{1, 2, 3}, new(int32)
	vars := map[string]reflect.Value{
		"n": reflect.ValueOf(&n).Elem(), "s": reflect.ValueOf(&s).Elem(), "p": reflect.ValueOf(&p).Elem(),
		"copy": reflect.ValueOf(n), // not addressable: no memory of the notebook's
	}
	owner := func(addr uintptr) string {
		for _, sp := range variableSpans(vars) {
			if addr >= sp.start && addr < sp.end {
				return sp.name
			}
		}
		return ""
	}
	for _, tt := range []struct {
		what string
		addr uintptr
		want string
	}{
		{"n", reflect.ValueOf(&n).Pointer(), "n"},
		{"s's header", reflect.ValueOf(&s).Pointer(), "s"},
		{"s[2]", reflect.ValueOf(&s[2]).Pointer(), "s"},
		{"*p", reflect.ValueOf(p).Pointer(), "p"},
		{"past s[2]", reflect.ValueOf(&s[2]).Pointer() + 8, ""},
	} {
		if got := owner(tt.addr); got != tt.want {
			t.Errorf("the owner of %s got %q, want %q", tt.what, got, tt.want)
		}
	}
}
