// Command openagg is the all-in-one binary: `serve` runs every API group,
// the queue workers and the refresh scheduler in one process, on the
// embedded default or on DynamoDB and SQS (several processes may share
// them); `setup` makes the table and queues of the AWS drivers on an
// endpoint; `dlq` lists, shows and redrives dead letters; `token` mints a bearer token for serve; `invoke` runs one Lambda
// handler in-process on an event file; `receive` is a webhook receiver for
// trying the webhooks locally.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// command is one subcommand. Each lives in its own file; add a line to
// commands to register another.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env env, args []string) error
}

// env is what a command may touch: the environment and the standard
// streams (tests pass their own).
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
}

func commands() []command {
	return []command{
		{"serve", "run every API group, the workers and the scheduler (embedded default, or DynamoDB + SQS)", serveCmd},
		{"setup", "make the DynamoDB table and the SQS queues on an endpoint; print serve's environment", setupCmd},
		{"token", "mint a bearer token for the local server", tokenCmd},
		{"invoke", "run one Lambda handler in-process on an event file", invokeCmd},
		{"template", "write template.yaml from the API groups' routes (--check: fail if stale, --out -: print)", templateCmd},
		{"openapi", "write the OpenAPI documents of every dialect (--out DIR, or --name NAME to stdout)", openapiCmd},
		{"dlq", "list, show and redrive the queues' dead letters (embedded queue or SQS)", dlqCmd},
		{"receive", "a local webhook receiver that verifies and prints each delivery", receiveCmd},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}, os.Args[1:]))
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, e env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		fmt.Fprintf(e.stderr, "openagg: unknown command %q\n\n", args[0])
		usage(e.stderr, cmds)
		return 2
	}
	if err := cmds[i].run(ctx, e, args[1:]); err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(e.stderr, "openagg %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds []command) {
	var b strings.Builder
	b.WriteString("usage: openagg <command> [flags]\n\ncommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun `openagg <command> -h` for its flags. Configuration comes from OPENAGG_* variables (see README.md).\n")
	fmt.Fprint(w, b.String())
}
