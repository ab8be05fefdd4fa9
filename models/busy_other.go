//go:build !linux

package models

import "time"

// machineBusy returns 0: other processes' CPU use is not read here.
func machineBusy() time.Duration { return 0 }

// processCPU returns 0: other processes' CPU use is not read here.
func processCPU(int) time.Duration { return 0 }
