package scratch

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// startTime returns when process pid started (clock ticks after boot),
// and whether it exists; a zombie counts as gone.
func startTime(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	// pid (comm) state ppid ... starttime is field 22; comm may hold
	// spaces and parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return start, err == nil
}
