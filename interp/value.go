package interp

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"atonce/kernel/enginemsg"
)

// maxValueText bounds the text/plain form of a cell's value, in runes.
const maxValueText = 2000

// formatValue shows a cell's final value: strings quoted, other values as
// %v, cut after maxValueText runes.
func formatValue(v any) enginemsg.Bundle {
	var text string
	if s, ok := v.(string); ok {
		text = strconv.Quote(s)
	} else {
		text = fmt.Sprintf("%v", v)
	}
	return enginemsg.Bundle{"text/plain": truncate(text, maxValueText)}
}

// truncate cuts s after max runes and says how many were cut.
func truncate(s string, max int) string {
	n := utf8.RuneCountInString(s)
	if n <= max {
		return s
	}
	i, kept := 0, 0
	for kept < max {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		kept++
	}
	unit := "characters"
	if n-max == 1 {
		unit = "character"
	}
	return fmt.Sprintf("%s… (%d more %s)", s[:i], n-max, unit)
}
