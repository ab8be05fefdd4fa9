// Package broker is the client side of the "distributed" model's NATS
// transport: a work queue with explicit acks, the worker loop that drains
// it, a presence protocol to list the connected workers, and a small
// key-value store for the notebook state workers need. The NATS server the
// kernel embeds is package natsserver (below this one), kept apart so that
// workers and native notebook programs link only the client.
//
// The package moves bytes and knows nothing of tasks' meaning: callers
// encode their payloads (JSON in atonce) themselves.
//
// # Pieces
//
//   - [Connect] dials a server (the kernel's embedded one, see
//     [atonce/models/broker/natsserver.Start], or an external one, or one
//     of a cluster's, given as a comma-separated list of URLs), checks
//     that JetStream is there, and pins a TLS certificate when asked
//     ([WithTLSFingerprint]); every other function takes the returned [*Conn].
//   - [NewQueue] is the kernel side of a run: it publishes tasks
//     ([Queue.Publish], or [Queue.PublishAsync] and [Queue.Flush] for a
//     run's many tasks in one stream) and hands back each task's result
//     exactly once ([Queue.Results]), including tasks no worker could
//     finish.
//   - [Consume] is the worker side: it runs one task at a time, taking
//     short tasks from the server in batches ([WithMaxBatch]), with
//     keep-alives for every task it holds, each result published before
//     its task is acked, and neither waited for.
//   - [ServeWorkerInfo] and [ListWorkers] let the kernel see who is there.
//   - [PutState] and [GetState] carry notebook state by key.
//
// # Names on the wire
//
// For a queue called NAME:
//
//	stream   ATONCE_TASKS_NAME    subjects atonce.NAME.tasks.>  (work queue, memory)
//	consumer workers              durable pull, explicit ack
//	stream   ATONCE_RESULTS_NAME  subjects atonce.NAME.results.>  (limits, memory)
//	advisory $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ATONCE_TASKS_NAME.workers
//
// Tasks are published on atonce.NAME.tasks.run with the headers
// Nats-Msg-Id and Atonce-Task set to the task id, and Atonce-Ack-Wait (the
// queue's AckWait, which paces the workers' keep-alives). Each task's
// result is published on a subject of its own, atonce.NAME.results.TOKEN
// ([TaskResultSubject]): TOKEN is the task id when it is letters, digits,
// '_', '-' and dots between non-empty parts and does not start with "x",
// else "x" and the id's bytes in hex; so a worker can ask the results
// stream whether a task's result is stored. Results carry the headers
// Atonce-Task, Atonce-Delivery, Atonce-Worker and Atonce-Status ("ok" or
// "error"; for "error" the payload is the error text), and Nats-Msg-Id set
// to the task id, so the results stream stores one result per task.
//
// On a NATS cluster every stream is kept on three servers ([Conn.Replicas]):
// a queue lives on while two of its three copies do.
//
// Workers announce themselves on atonce.workers.hello and answer requests
// on atonce.workers.ping, saying which queue they serve (so kernels sharing
// a server tell their own workers apart), their platform, and whether they
// launch the native programs a kernel ships (package nativeship, whose
// object store and announcements are named after the kernel's queue). Notebook state lives in the key-value bucket
// atonce_state_NAME, or in the object store atonce_state_large_NAME when
// it does not fit in one message.
//
// # A server that comes back
//
// A connection tries to get back to a server that went away forever, every
// [ReconnectWait]. A kernel whose engine crashed starts its embedded server
// again on the same address with the same token and certificate
// (natsserver's Options.Listen, Options.Token, Options.TLSCert), but
// without the old one's in-memory streams: a worker announces itself
// again when it gets back, and [Consume] drops the requests the old server
// was to answer and waits for the queue, which the kernel creates again.
//
// # Delivery guarantees
//
// Every task's result reaches the kernel once; a task whose result the
// server stored never runs again (unless the worker it comes back to
// cannot ask the results stream, see below); a task whose worker died
// before its result left it runs again on another worker.
//
// A worker publishes a task's result and then acks the task, on the same
// connection, and starts its next task once both are written to the
// connection's socket, without waiting for the server's answers. A worker
// that dies or stalls has every task it held and had not acked redelivered
// after the queue's AckWait — the one it ran, those of its batch it had
// not started, and those whose acks had not reached the server yet — up to
// MaxDeliver attempts, after which [Queue.Results] reports it as failed. A
// worker given a task again first looks its result up in the results
// stream (the last message on the task's subject): if it is there, the
// task finished and lost only its ack, and the worker acks it without
// running it. If the lookup fails for another reason than finding nothing,
// the worker runs the task: the results stream drops the second result
// (its Nats-Msg-Id repeats the first's), and [Queue] keeps only the first
// result for each task id it reads (see [QueueStats.Duplicates]), so the
// kernel still sees one result per task. On a cluster whose server that
// led the results stream went away, a worker tries its result again until
// another leads it, and the queue reads the stream again from the first
// result it missed if its reading stalls. A worker that dies meanwhile
// takes that result with it, its task acked already; and the server's
// give-up on a task is an advisory the queue misses while it reconnects.
// So when no result has come for [QueueOptions.LostAfter] and no task
// waits or is held, the queue looks for the tasks left without one: a
// task acked without a result is published again (a new Nats-Msg-Id, the
// same task id), one the server gave up on is reported failed. A result read
// twice that way counts once, and so does a task the server gives up on
// after its result came in (its ack lost while the consumer changed
// leaders).
package broker
