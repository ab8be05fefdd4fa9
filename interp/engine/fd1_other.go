//go:build !linux

package engine

import "os"

// redirectFD1 leaves fd 1 alone outside Linux: the supervisor reads it,
// unordered with the cell's reply.
func redirectFD1(*os.File) error { return nil }
