package workerserve

import (
	"encoding/json"
	"fmt"
	"reflect"

	"atonce/models/workermsg"
)

// SetOutcome puts a task's value and error into res: the error as Err,
// the value as JSON, or, when JSON cannot carry it, a sentence saying so
// added to Err (results travel as JSON, the lesson of Python's pickling
// errors).
func SetOutcome(res *workermsg.Result, value any, err error) {
	if err != nil {
		res.Err = joinErr(res.Err, err.Error())
	}
	if value == nil {
		return
	}
	b, merr := json.Marshal(value)
	if merr != nil {
		res.Err = joinErr(res.Err, cannotCross(res.Index, value, merr))
		return
	}
	res.Value = b
}

// cannotCross says that task i's result, value, cannot cross as JSON.
func cannotCross(i int, value any, err error) string {
	return fmt.Sprintf("the result of task %d, a %s, cannot cross to the notebook: results travel as JSON, and %v", i, typeName(value), err)
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	return t.String()
}

func joinErr(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// Changed returns the entries of now that are absent from base or differ
// from it: the variables a task changed, as Result.Globals carries them.
func Changed(now, base map[string]json.RawMessage) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	for name, v := range now {
		if old, ok := base[name]; ok && string(old) == string(v) {
			continue
		}
		if out == nil {
			out = map[string]json.RawMessage{}
		}
		out[name] = v
	}
	return out
}
