//go:build !linux

package cputime

import "time"

// Machine returns 0: other processes' CPU use is not read here.
func Machine() time.Duration { return 0 }

// Process returns 0: other processes' CPU use is not read here.
func Process(int) time.Duration { return 0 }
