package interp

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"atonce/internal/enginemsg"
	"atonce/interp/display"
)

// goSyntax prints v as %v does, but with struct field names (%+v),
// which reads more like Go, also inside slices and maps.
func goSyntax(v any) string {
	return fmt.Sprintf("%+v", v)
}

// maxValueText bounds the text/plain form of a cell's value, in runes.
const maxValueText = 2000

// formatValue shows a cell's final value: strings quoted, other values as
// %v, cut after maxValueText runes.
func formatValue(v any) enginemsg.Bundle {
	var text string
	switch x := v.(type) {
	case shown:
		b := enginemsg.Bundle(x)
		if _, ok := b["text/plain"]; !ok {
			b["text/plain"] = "(display)"
		}
		return b
	case *display.Handle:
		return nil // a display call's handle: the display is the output
	case string:
		text = strconv.Quote(x)
	default:
		text = goSyntax(v)
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
