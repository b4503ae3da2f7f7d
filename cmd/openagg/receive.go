package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/openagg/openagg/internal/webhook"
)

// receiveCmd is a webhook receiver for trying the webhooks locally: it
// verifies each delivery with the endpoint's secret (Standard Webhooks:
// signature and timestamp), prints one line per delivery, and answers
// 204; with --refuse-first it answers 503 to the first delivery of each
// webhook-id, so the retry shows. It runs until interrupted.
func receiveCmd(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	secret := fs.String("secret", "", "the endpoint's signing secret (whsec_...), required")
	refuseFirst := fs.Bool("refuse-first", false, "answer 503 to the first delivery of each webhook-id")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if _, err := webhook.SecretKey(*secret); err != nil {
		return fmt.Errorf("--secret must be the whsec_... secret the endpoint's creation answered")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "receiving webhooks on http://%s/\n", ln.Addr())
	srv := &http.Server{Handler: receiver(e.stdout, *secret, *refuseFirst, time.Now), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// receiver is the handler of receiveCmd.
func receiver(out io.Writer, secret string, refuseFirst bool, now func() time.Time) http.Handler {
	var mu sync.Mutex
	seen := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := r.Header.Get(webhook.HeaderID)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, id, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, now(), 5*time.Minute); err != nil {
			fmt.Fprintf(out, "%s REFUSED (%v)\n", id, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		_ = json.Unmarshal(body, &p)
		seen[id]++
		status, note := http.StatusNoContent, "verified"
		switch {
		case refuseFirst && seen[id] == 1:
			status, note = http.StatusServiceUnavailable, "verified, answered 503 (the retry comes in a minute)"
		case seen[id] > 1:
			note = fmt.Sprintf("verified, delivery %d of this id", seen[id])
		}
		fmt.Fprintf(out, "%s %s %s: %s\n", id, p.Type, summary(p.Data), note)
		w.WriteHeader(status)
	})
}

// summary is what a delivery says, in a few words.
func summary(d webhook.Data) string {
	parts := []string{"party " + d.PartyID}
	if d.BankCode != "" {
		parts = append(parts, "bank "+d.BankCode)
	}
	if d.Status != "" {
		parts = append(parts, "status "+d.Status)
	}
	if d.Counts != nil {
		parts = append(parts, fmt.Sprintf("%s, %s (+%d ~%d -%d)", plural(int64(d.Counts.Accounts), "account"), plural(d.Counts.Transactions, "transaction"), d.Counts.Added, d.Counts.Modified, d.Counts.Removed))
	}
	if len(d.AccountIDs) > 0 {
		parts = append(parts, plural(int64(len(d.AccountIDs)), "account")+" to sync")
	}
	if d.Error != "" {
		parts = append(parts, "error "+d.Error)
	}
	return strings.Join(parts, ", ")
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
