package kernel

// NewFakeEngine returns the fake engine of kernel_test.go, for the
// external tests (enginecontract_test.go).
func NewFakeEngine() Engine { return newFakeEngine() }
