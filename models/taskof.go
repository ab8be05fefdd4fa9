package models

import (
	"context"
	"fmt"
	"reflect"
)

// Shapes lists the function shapes a Task can be made of ([TaskOf]), in
// words for errors and help texts.
const Shapes = "func(), func(i int), func(i int) T, func(i int) (T, error)"

var errorType = reflect.TypeFor[error]()

// TaskOf adapts fn, a function of one of the [Shapes] (the int may be any
// integer type but uintptr, which is no index), to a Task of n calls named name: Call(ctx, i) calls fn
// with i when it takes an int, and returns its result, if any, and its
// error, if any. It refuses other shapes with an error that lists them.
// The interpreter's functions (reflect values yaegi made) and compiled
// ones (a native program's) are adapted alike.
func TaskOf(name string, fn reflect.Value, n int) (Task, error) {
	if !fn.IsValid() {
		return Task{}, fmt.Errorf("%s is not a function; a task is one of: %s", name, Shapes)
	}
	t := fn.Type()
	if t.Kind() != reflect.Func {
		return Task{}, fmt.Errorf("%s is a %s, not a function; a task is one of: %s", name, t, Shapes)
	}
	if fn.IsNil() {
		return Task{}, fmt.Errorf("%s is a nil %s; a task is one of: %s", name, t, Shapes)
	}
	takesInt := t.NumIn() == 1 && isInt(t.In(0))
	okIn := t.NumIn() == 0 || takesInt
	okOut := t.NumOut() <= 1 || (t.NumOut() == 2 && t.Out(1) == errorType)
	if t.IsVariadic() || !okIn || !okOut {
		return Task{}, fmt.Errorf("%s has type %s, which a model cannot call; a task is one of: %s", name, t, Shapes)
	}
	call := func(_ context.Context, i int) (any, error) {
		var in []reflect.Value
		if takesInt {
			in = []reflect.Value{reflect.ValueOf(i).Convert(t.In(0))}
		}
		out := fn.Call(in)
		switch len(out) {
		case 0:
			return nil, nil
		case 1:
			return out[0].Interface(), nil
		}
		var err error
		if e := out[1].Interface(); e != nil {
			err = e.(error)
		}
		return out[0].Interface(), err
	}
	return Task{Name: name, N: n, Call: call}, nil
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// Do calls t.Call(ctx, i), turning a panic into the task's error ("task 3
// panicked: ..."), as every model does: a worker process that runs one
// task at a time calls it too.
func (t Task) Do(ctx context.Context, i int) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, fmt.Errorf("task %d panicked: %v", i, v)
		}
	}()
	return t.Call(ctx, i)
}
