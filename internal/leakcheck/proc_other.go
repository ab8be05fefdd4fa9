//go:build !linux

package leakcheck

import (
	"errors"
	"time"
)

// errUnsupported says the process checks need Linux's /proc and pidfds.
var errUnsupported = errors.New("leakcheck: process checks need Linux")

// Children is not available here.
func Children() ([]int, error) { return nil, errUnsupported }

// ChildrenOf is not available here.
func ChildrenOf(int) ([]int, error) { return nil, errUnsupported }

// WaitGone is not available here.
func WaitGone(int, time.Duration) error { return errUnsupported }

// Alive is not available here: it reports false.
func Alive(int) bool { return false }
