//go:build !unix

package native

import (
	"errors"
	"os"
)

// redirectStdout cannot replace fd 1 here: the tasks' prints are not
// passed to the engine.
func redirectStdout(*os.File) error {
	return errors.New("not supported on this system")
}
