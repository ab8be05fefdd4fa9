package models

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// JSONGlobals returns the JSON of the variables named in names (every
// variable when names is empty), as Report.Globals and a worker's state
// carry them; variables JSON cannot encode (channels, funcs, cycles) are
// left out. vars are the notebook's package-level variables by name: the
// interpreter's, or a native program's (the values its pointers point
// to).
func JSONGlobals(vars map[string]reflect.Value, names []string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	add := func(name string, v reflect.Value) {
		if !v.IsValid() || !v.CanInterface() {
			return
		}
		if b, err := marshalValue(v); err == nil {
			out[name] = b
		}
	}
	if len(names) == 0 {
		for name, v := range vars {
			add(name, v)
		}
		return out
	}
	for _, name := range names {
		if v, ok := vars[name]; ok {
			add(name, v)
		}
	}
	return out
}

// marshalValue encodes v as JSON, treating a panic (a value reflection
// cannot read) as an error.
func marshalValue(v reflect.Value) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("%v", p)
		}
	}()
	return json.Marshal(v.Interface())
}
