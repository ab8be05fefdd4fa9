package modelrun

import (
	"regexp"
	"testing"
)

func TestKernelQueue(t *testing.T) {
	valid := regexp.MustCompile(`^atonce-[0-9a-f]{8}$`)
	a, b := kernelQueue("/tmp/atonce-kernel-1"), kernelQueue("/tmp/atonce-kernel-2")
	for _, tt := range []struct {
		name     string
		got      string
		wantName bool
	}{
		{"a kernel", a, true},
		{"another kernel", b, true},
		{"no state directory", kernelQueue(""), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := valid.MatchString(tt.got); got != tt.wantName {
				t.Errorf("kernelQueue got %q; want a queue name of its own: %v", tt.got, tt.wantName)
			}
		})
	}
	if a == b {
		t.Errorf("two kernels got the same queue %q", a)
	}
	if again := kernelQueue("/tmp/atonce-kernel-1"); again != a {
		t.Errorf("the same kernel's engines got %q and %q; want one queue", a, again)
	}
}
