//go:build !linux

package supervisor

import "os/exec"

// setProcAttr does nothing where Linux's process attributes do not exist.
func setProcAttr(cmd *exec.Cmd) {}

// killTree kills the engine.
func killTree(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
