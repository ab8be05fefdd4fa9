package install

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const usage = `usage: atonce install [--user | --sys-prefix | --prefix DIR] [--uninstall]

Installs the Jupyter kernelspec "atonce" that starts this atonce binary,
or removes it with --uninstall.

  --user        the user's Jupyter data directory (default):
                $JUPYTER_DATA_DIR, else ~/.local/share/jupyter
  --sys-prefix  /usr/bin/python3's sys.prefix, i.e. /usr/share/jupyter
                (needs root)
  --prefix DIR  DIR/share/jupyter (add it to JUPYTER_PATH if it is not
                /usr or /usr/local)
  --uninstall   remove the kernelspec from the chosen place
`

// Main implements `atonce install`: args are the arguments after
// "install". It writes results to stdout and problems to stderr, and
// returns the process exit code: 0 on success, 1 when installing or
// uninstalling fails, 2 for bad flags.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("atonce install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	user := fs.Bool("user", false, "install for the current user (default)")
	sys := fs.Bool("sys-prefix", false, "install into /usr/bin/python3's sys.prefix")
	prefix := fs.String("prefix", "", "install into `DIR`/share/jupyter")
	uninstall := fs.Bool("uninstall", false, "remove the kernelspec")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2 // flag has printed the error and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "atonce install: unexpected argument %q\n%s", fs.Arg(0), usage)
		return 2
	}
	prefixSet := false
	fs.Visit(func(f *flag.Flag) { prefixSet = prefixSet || f.Name == "prefix" })
	chosen := 0
	for _, b := range []bool{*user, *sys, prefixSet} {
		if b {
			chosen++
		}
	}
	if chosen > 1 {
		fmt.Fprintf(stderr, "atonce install: choose one of --user, --sys-prefix and --prefix DIR\n%s", usage)
		return 2
	}
	opt := Options{Mode: User}
	switch {
	case *sys:
		opt.Mode = SysPrefix
	case prefixSet:
		if *prefix == "" {
			fmt.Fprintf(stderr, "atonce install: --prefix needs a directory\n%s", usage)
			return 2
		}
		opt.Mode, opt.Prefix = Prefix, *prefix
	}

	if *uninstall {
		dir, err := Uninstall(opt)
		if err != nil {
			fmt.Fprintf(stderr, "atonce install: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Removed the atonce kernelspec from %s\n", dir)
		return 0
	}

	bin, err := executable()
	if err != nil {
		fmt.Fprintf(stderr, "atonce install: %v\n", err)
		return 1
	}
	opt.Binary = bin
	dir, err := Install(opt)
	if err != nil {
		fmt.Fprintf(stderr, "atonce install: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Installed the atonce kernelspec in %s\n", dir)
	fmt.Fprintf(stdout, "It starts %s; reinstall if you move that binary.\n", bin)
	if strings.Contains(bin, string(filepath.Separator)+"go-build") {
		fmt.Fprintln(stderr, "warning: this atonce binary is a temporary one from `go run`; build a lasting one with `make build` and install from it")
	}
	for _, w := range shadows(dir) {
		fmt.Fprintln(stderr, w)
	}
	return 0
}

// executable returns the absolute, symlink-free path of the running binary,
// which is what kernel.json must name.
func executable() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the atonce binary to put in kernel.json: %w", err)
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p, nil
}
