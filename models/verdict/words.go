package verdict

import (
	"fmt"
	"math"
	"strings"
	"time"

	"atonce/models/stats"
)

// para builds the paragraph twice: as Markdown and as plain text.
type para struct {
	md, txt strings.Builder
}

// plain adds text as it is (Markdown's special characters escaped).
func (p *para) plain(s string) {
	p.md.WriteString(mdEscape(s))
	p.txt.WriteString(s)
}

// bold adds a lead-in, bold in Markdown.
func (p *para) bold(s string) {
	p.md.WriteString("**" + mdEscape(s) + "**")
	p.txt.WriteString(s)
}

// sentence adds a sentence with a bold lead-in (none when lead is ""),
// separated from the one before by a space.
func (p *para) sentence(lead, rest string) {
	if p.txt.Len() > 0 {
		p.md.WriteString(" ")
		p.txt.WriteString(" ")
	}
	if lead != "" {
		p.bold(lead)
		if rest != "" {
			p.plain(" ")
		}
	}
	p.plain(rest)
}

// mdEscape escapes the characters Markdown would read as markup in our
// sentences.
func mdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", "&lt;").Replace(s)
}

// pct writes a share as a percentage: "97%", "0.4%", "under 0.1%".
func pct(x float64) string {
	switch {
	case x <= 0:
		return "0%"
	case x < 0.001:
		return "under 0.1%"
	case x < 0.01:
		return fmt.Sprintf("%.1f%%", 100*x)
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

// speedup writes an interval of a speedup: "1.87x [1.80–1.93]", or
// "1.87x" from one round.
func speedup(iv stats.Interval) string {
	return iv.Format("%.2f", "x")
}

// times writes a factor: "1.9x", "12x".
func times(x float64) string {
	if x >= 10 {
		return fmt.Sprintf("%.0fx", x)
	}
	return fmt.Sprintf("%.1fx", x)
}

// dur writes a duration with about two significant digits in the unit a
// reader expects: "19 ms", "1.2 ms", "69 µs", "2.3 s".
func dur(d time.Duration) string {
	f := func(v float64, unit string) string {
		if v >= 10 {
			return fmt.Sprintf("%.0f %s", v, unit)
		}
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	switch {
	case d >= time.Second:
		return f(d.Seconds(), "s")
	case d >= time.Millisecond:
		return f(float64(d)/1e6, "ms")
	case d >= time.Microsecond:
		return f(float64(d)/1e3, "µs")
	}
	return fmt.Sprintf("%d ns", int64(d))
}

// bytesWords writes a size: "312 B", "1.2 kB".
func bytesWords(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// count writes n with thousands separated: "8,000".
func count(n float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(n))
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if n < 0 {
		return "-" + b.String()
	}
	return b.String()
}
