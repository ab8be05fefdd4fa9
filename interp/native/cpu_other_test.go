//go:build !unix

package native

import "time"

// childCPU is not measured here.
func childCPU() time.Duration { return 0 }
