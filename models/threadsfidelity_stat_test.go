package models

import "fmt"

func sscanStat(s string, v ...*float64) (int, error) {
	args := make([]any, len(v))
	for i := range v {
		args[i] = v[i]
	}
	return fmt.Sscanf(s, "cpu "+"%g %g %g %g %g %g %g %g", args...)
}
