//go:build !linux

package models

import "os/exec"

// setWorkerAttr does nothing here: only Linux kills a child with its
// parent; workers exit when their request pipe closes.
func setWorkerAttr(*exec.Cmd) {}
