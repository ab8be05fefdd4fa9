// Package words writes the small pieces of English that atonce's output
// is made of — lists and counts of things — one way everywhere.
package words

import (
	"fmt"
	"strings"
)

// JoinAnd is "", "a", "a and b", "a, b and c".
func JoinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// Plural is "1 task", "0 tasks", "8 tasks": n and the noun, one or many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
