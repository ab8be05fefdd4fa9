//go:build !unix

package cputime

import "time"

// Self returns 0: this platform's CPU time is not read.
func Self() time.Duration { return 0 }

// SelfSplit returns zeros: this platform's CPU time is not read.
func SelfSplit() (user, sys time.Duration) { return 0, 0 }
