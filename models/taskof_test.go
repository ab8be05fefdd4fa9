package models_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"atonce/models"
)

type small int8

func TestTaskOf(t *testing.T) {
	boom := errors.New("boom")
	for _, tt := range []struct {
		name    string
		fn      any
		want    any    // Call(ctx, 3)'s result
		wantErr string // Call(ctx, 3)'s error, or TaskOf's when refused
		refused bool
	}{
		{"nothing", func() {}, nil, "", false},
		{"index", func(int) {}, nil, "", false},
		{"result", func(i int) int { return i * i }, 9, "", false},
		{"result and error", func(i int) (string, error) { return "x", boom }, "x", "boom", false},
		{"result and nil error", func(i int) (int, error) { return i, nil }, 3, "", false},
		{"named integer", func(i small) small { return i + 1 }, small(4), "", false},
		{"uint64", func(i uint64) uint64 { return i }, uint64(3), "", false},
		{"panic", func(i int) int { panic("at " + string(rune('0'+i))) }, nil, "task 3 panicked: at 3", false},
		{"uintptr parameter", func(uintptr) {}, nil, "which a model cannot call", true},
		{"string parameter", func(string) {}, nil, "a task is one of: func(), func(i int)", true},
		{"two parameters", func(int, int) {}, nil, "which a model cannot call", true},
		{"variadic", func(...int) {}, nil, "which a model cannot call", true},
		{"second result not error", func(int) (int, int) { return 0, 0 }, nil, "which a model cannot call", true},
		{"three results", func() (int, int, error) { return 0, 0, nil }, nil, "which a model cannot call", true},
		{"not a func", 3, nil, "is a int, not a function", true},
		{"nil func", (func())(nil), nil, "is a nil func()", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			task, err := models.TaskOf("F", reflect.ValueOf(tt.fn), 5)
			if tt.refused {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("TaskOf got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("TaskOf: %v", err)
			}
			if task.Name != "F" || task.N != 5 {
				t.Errorf("TaskOf got name %q and n %d, want F and 5", task.Name, task.N)
			}
			got, err := task.Do(context.Background(), 3)
			if got != tt.want {
				t.Errorf("Do(3) got %#v, want %#v", got, tt.want)
			}
			if gotErr := errString(err); gotErr != tt.wantErr {
				t.Errorf("Do(3) error got %q, want %q", gotErr, tt.wantErr)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestJSONGlobals(t *testing.T) {
	type point struct{ X, Y int }
	n, s, m, p, ch := 3, []int{1, 2}, map[string]int{"a": 1}, point{1, 2}, make(chan int)
	vars := map[string]reflect.Value{
		"n": reflect.ValueOf(&n).Elem(), "s": reflect.ValueOf(&s).Elem(), "m": reflect.ValueOf(&m).Elem(),
		"p": reflect.ValueOf(&p).Elem(), "ch": reflect.ValueOf(&ch).Elem(),
	}
	for _, tt := range []struct {
		names []string
		want  map[string]string
	}{
		{nil, map[string]string{"n": "3", "s": "[1,2]", "m": `{"a":1}`, "p": `{"X":1,"Y":2}`}},
		{[]string{"n", "ch", "missing"}, map[string]string{"n": "3"}},
	} {
		got := map[string]string{}
		for name, b := range models.JSONGlobals(vars, tt.names) {
			got[name] = string(b)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("JSONGlobals(%v) got %v, want %v", tt.names, got, tt.want)
		}
	}
}
