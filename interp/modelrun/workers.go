package modelrun

import (
	"context"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"atonce/internal/enginemsg"
	"atonce/interp/magic"
	"atonce/models"
	"atonce/models/broker"
	"atonce/models/distributed"
)

// WorkersUsage is the %workers magic's usage.
const WorkersUsage = `usage: %workers                 list the distributed workers connected to the kernel's NATS server
       %workers add N           start N more workers on this machine
       %workers join            print the command that joins a worker from another machine
       %workers -listen ADDR [-tls-cert FILE -tls-key FILE]
                                restart the embedded NATS server listening on ADDR (TLS beyond loopback)
       %workers -nats URL       use an existing NATS server (nats://[TOKEN@]HOST:PORT) instead`

func registerWorkers() {
	magic.Register(magic.Command{
		Name:    "workers",
		Summary: "List, add or join the workers of the distributed model.",
		Usage:   WorkersUsage,
		Doc: `The distributed model runs tasks on workers behind NATS. By default the kernel embeds a NATS server with
JetStream on a random loopback port with a fresh token, and starts workers on this machine as a run needs
them. Workers on other machines join with the command %workers join prints; for that the server must listen
beyond loopback (%workers -listen 0.0.0.0:4222, or atonce kernel -listen), which is done with TLS: a
self-signed certificate unless you give one, whose fingerprint the join command pins. ATONCE_NATS_URL (or
%workers -nats URL) points the kernel at an existing NATS server instead, with a queue of this kernel's own, so
kernels sharing the server keep apart. Workers that joined stay joined when the engine crashes: the new
engine brings the server back on the same address, with the same token and certificate, and they reconnect.`,
		Line: true,
		Run:  workersMagic,
	})
}

func workersMagic(ctx context.Context, env magic.Env, c magic.Call) magic.Result {
	usage := func(msg string) magic.Result {
		return magic.Result{Err: magic.UserError("UsageError", msg+"\n"+WorkersUsage)}
	}
	fs := flag.NewFlagSet("workers", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "", "")
	tlsCert := fs.String("tls-cert", "", "")
	tlsKey := fs.String("tls-key", "", "")
	natsURL := fs.String("nats", "", "")
	if err := fs.Parse(strings.Fields(c.Args)); err != nil {
		return usage(err.Error())
	}
	if env.Replaying() {
		return magic.Result{}
	}
	args := fs.Args()
	var cl *distributed.Cluster
	var err error
	switch {
	case *natsURL != "" && (*listen != "" || *tlsCert != ""):
		return usage("-nats uses an existing server; -listen and -tls-* configure the embedded one: choose one")
	case (*tlsCert == "") != (*tlsKey == ""):
		return usage("-tls-cert and -tls-key go together")
	case *natsURL != "":
		opt := ClusterFromEnv()
		opt.URL, opt.Listen, opt.TLSCert, opt.TLSKey = *natsURL, "", "", ""
		cl, err = RestartCluster(ctx, opt)
	case *listen != "" || *tlsCert != "":
		opt := ClusterFromEnv()
		opt.URL, opt.Listen, opt.TLSCert, opt.TLSKey = "", *listen, *tlsCert, *tlsKey
		cl, err = RestartCluster(ctx, opt)
	default:
		cl, err = Cluster(ctx)
	}
	if err != nil {
		return magic.Result{Err: magic.UserError("WorkersError", err.Error())}
	}

	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "list"):
	case args[0] == "add":
		if len(args) != 2 {
			return usage("%workers add takes the number of workers to start")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > MaxProcessWorkers {
			return usage(fmt.Sprintf("%q: start between 1 and %d workers", args[1], MaxProcessWorkers))
		}
		if err := cl.AddLocal(ctx, n); err != nil {
			return magic.Result{Err: magic.UserError("WorkersError", err.Error())}
		}
	case args[0] == "join" && len(args) == 1:
		text := "Run this on the machine that should join (with the same atonce build):\n\n    " + cl.JoinCommand() + "\n"
		if cl.Embedded() && !distributed.BeyondLoopback(cl.Listen()) {
			text += "\nThe kernel's NATS server listens on loopback only, so this works on this machine alone.\n" +
				"To let other machines join: %workers -listen 0.0.0.0:4222 (TLS with a self-signed certificate is set up for you).\n"
		}
		env.Print("stdout", text)
		return magic.Result{}
	default:
		return usage(fmt.Sprintf("unknown %%workers request %q", strings.Join(args, " ")))
	}
	ws, err := cl.Workers(ctx)
	if err != nil {
		return magic.Result{Err: magic.UserError("WorkersError", err.Error())}
	}
	text, table := workersTable(cl, ws)
	env.Display(enginemsg.Bundle{"text/plain": text, "text/html": table})
	return magic.Result{}
}

// workersTable lists the workers, plain and as HTML.
func workersTable(cl *distributed.Cluster, ws []broker.WorkerInfo) (string, string) {
	where := "embedded NATS server at " + cl.URL()
	if !cl.Embedded() {
		where = "NATS server at " + cl.URL()
	}
	head := fmt.Sprintf("%d worker(s) on the %s, queue %q", len(ws), where, cl.Queue())
	local := cl.LocalPIDs()
	host, _ := os.Hostname()
	rows := [][]string{{"worker", "host", "pid", "CPUs", "version", "started by"}}
	for _, w := range ws {
		by := "joined"
		if w.Host == host && slices.Contains(local, w.PID) {
			by = "this kernel"
		}
		version := w.Version
		if w.VersionMismatch {
			version += " (does not match the kernel: refused)"
		}
		rows = append(rows, []string{w.ID, w.Host, strconv.Itoa(w.PID), strconv.Itoa(w.CPUs), version, by})
	}
	if len(ws) == 0 {
		none := "(none yet: a distributed run starts them, or %workers add N)"
		return head + "\n" + none + "\n", "<p>" + html.EscapeString(head) + "</p>\n<p>" + html.EscapeString(none) + "</p>\n"
	}
	text, table := models.RenderTable(rows[0], rows[1:])
	return head + "\n" + text, "<p>" + html.EscapeString(head) + "</p>\n" + table
}
