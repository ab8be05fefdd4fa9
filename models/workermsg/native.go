package workermsg

// Native mode ships the notebook's compiled program to the workers that
// joined a kernel (`atonce worker -nats ...`, which need no Go toolchain):
// the kernel builds it for each platform among them, stores each binary
// in a JetStream object store, and announces the build on
// NativeSubject(queue); each worker it names (a launcher) fetches the
// binary for its platform, checks it, and runs it as a worker of the
// build's own queue. The exchange is a NATS request, not a stream or a
// key-value entry, for three reasons: the kernel needs each launcher's
// answer (the process it started, or why it could not: no build for its
// platform, a binary that is not the one built) to tell the notebook, and
// it knows from the workers' presence whom to wait for, so it waits for
// those answers and no longer; the announcement says what must run now
// and is sent again at every native run, so a launcher that missed one
// catches up at the next and the server keeps nothing (a restarted
// server, which loses its memory streams, loses nothing of it); and it is
// scoped by the kernel's queue, which the launchers serve, so kernels
// sharing a server never drive each other's workers. The binary itself
// does not travel in the message (NATS messages are 1 MB by default, a
// program several): the object store chunks it, and the message carries
// its SHA-256 for the launcher to check.

// NativeSubject is the NATS subject on which the kernel whose work queue
// is queue announces, as a request whose payload is a NativeBuild, the
// native program its launchers must run; each launcher the build names
// answers with a NativeStarted.
func NativeSubject(queue string) string { return "atonce." + queue + ".native" }

// NativeExitSubject is where a launcher of queue's workers reports, with
// a NativeExit, that a native worker it ran exited: so that the kernel
// counts it out at once, and tells the notebook when it died unasked.
func NativeExitSubject(queue string) string { return "atonce." + queue + ".native.exit" }

// NativeBuild announces the native program the launchers must run from
// now on: each launcher it names runs one worker process of it, any other
// stops the one it runs. An empty Source stops every launcher's.
type NativeBuild struct {
	// Source names the build: the program's source hash.
	Source string `json:"source"`
	// Queue is the work queue the build's workers serve (their -queue).
	Queue string `json:"queue"`
	// Bucket is the JetStream object store that holds the binaries.
	Bucket string `json:"bucket"`
	// Binaries are the program built for each platform, by "GOOS/GOARCH".
	Binaries map[string]NativeBinary `json:"binaries,omitempty"`
	// Launchers are the worker ids of the launchers that must run it.
	Launchers []string `json:"launchers,omitempty"`
}

// NativeBinary is one platform's build of a native program, as stored.
type NativeBinary struct {
	// Object is its name in the build's bucket.
	Object string `json:"object"`
	// Size is its length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the binary the kernel built: a
	// launcher runs only a binary that has it.
	SHA256 string `json:"sha256"`
}

// NativeStarted is a launcher's answer to a NativeBuild that names it.
type NativeStarted struct {
	// Worker is the launcher's worker id.
	Worker string `json:"worker"`
	// Source is the build's, as announced.
	Source string `json:"source"`
	// Host is the launcher's machine.
	Host string `json:"host"`
	// PID is the process id of the native worker it runs for the build
	// (started now, or still running from an earlier announcement); 0
	// when none runs.
	PID int `json:"pid,omitempty"`
	// Err says why the launcher runs no native worker of the build.
	Err string `json:"err,omitempty"`
	// Died, when the build's worker the launcher ran died since the build
	// was last announced, says so (as its NativeExit did): the answer
	// comes after it, so the kernel can tell the run.
	Died *NativeExit `json:"died,omitempty"`
}

// NativeExit reports that a native worker a launcher ran exited.
type NativeExit struct {
	// Worker is the launcher's worker id.
	Worker string `json:"worker"`
	// Source is the build the native worker ran.
	Source string `json:"source"`
	// Host and PID are the native worker's.
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// Stopped says the launcher stopped it (another build was announced,
	// or none): it did not die.
	Stopped bool `json:"stopped,omitempty"`
	// Reason says in one line why it exited, from its exit status and
	// last words (a `fatal error: concurrent map writes`, a signal).
	Reason string `json:"reason"`
}
