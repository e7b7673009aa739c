package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/loadtest"
)

const benchUsage = `usage: ibiki bench inbound|send|bulk|import|campaign|services|smpp [flags]

inbound  posts ExtremeSMS webhooks as fast as possible (or at --rate), hosts the client webhook
         they are delivered to, and reports accepted/s, ingest latency, ingest→delivery latency
         and losses. With --provider twilio it posts Twilio's message webhooks instead, signed
         with the auth token of the Twilio entry --twilio-entry (--twilio-auth-token; --spawn
         gives the spawned server such an entry), routed by a number it gives the bench client.
send     posts POST /api/v1/messages as fast as possible (or at --rate) and reports accepted/s
         and latency; the messages go to the server's default provider (the simulator).
import   uploads a generated CSV of --recipients rows to POST /api/v1/contacts/import and reports
         the time and, with --spawn, the server's peak RSS.
campaign creates a campaign from a generated CSV of --recipients rows (POST /api/v1/campaigns)
         and times it: every recipient rendered, priced and stored, the cost reserved.
services puts a service on a short code (--short-code) whose commands are answered by
         ` + "`reply`" + `, posts ExtremeSMS webhooks to it from --phones phones at --rate, and
         reports inbound → answer handed to the provider (p50/p90/p99/max) and losses; it exits
         non-zero when a message was refused, never answered or answered twice. The answers
         go to a fake provider the bench hosts (--sink): --spawn gives the spawned server an
         http provider entry posting there (with --redis, the server keeps the services'
         sessions in that Redis); a server of your own needs such an entry as its default,
         with the body {"text":"{body}",…} and a fixed --sink port.
smpp     binds --binds transceivers to the server's SMPP server (--smpp-addr; --spawn sets
         IBIKI_SMPP_ADDR), submits --messages submit_sm with registered_delivery through
         windows of --window, and reports submit_sm accepted/s and latency, and the delivery
         receipts back (end-to-end rate, submit → receipt p50/p99) after the server's default
         provider reported them (give it an smpp provider with IBIKI_PROVIDERS_FILE to measure
         SMPP both ways).
bulk     sends one bulk request of --recipients messages and times it; with --watch it hosts
         the client webhook and measures the dispatch rate from the "sent" status events
         (set IBIKI_SIMULATOR_RATE for the server to hold).

Either point it at a running server (--url, --admin-token; the server needs
IBIKI_ALLOW_PRIVATE_WEBHOOKS=true) or let it start one (--spawn, on --database-url; the
spawned server inherits the IBIKI_* environment).
`

func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains([]string{"inbound", "send", "bulk", "import", "campaign", "services", "smpp"}, args[0]) {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: say inbound, send, bulk, import, campaign, services or smpp")
	}
	mode := args[0]
	fs := flag.NewFlagSet("bench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	var (
		opt   loadtest.Options
		spawn bool
		dbURL string
	)
	fs.StringVar(&opt.URL, "url", "http://127.0.0.1:8080", "base URL of the Ibiki under test")
	fs.StringVar(&opt.AdminToken, "admin-token", os.Getenv("IBIKI_ADMIN_TOKEN"), "its admin token (default $IBIKI_ADMIN_TOKEN)")
	fs.IntVar(&opt.Connections, "connections", 32, "concurrent connections")
	fs.IntVar(&opt.Rate, "rate", 0, "requests per second (0: flat out)")
	fs.DurationVar(&opt.Duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&opt.Phones, "phones", 10000, "distinct sender phones (conversations)")
	fs.DurationVar(&opt.Drain, "drain", 2*time.Minute, "how long to wait for deliveries after sending")
	fs.StringVar(&opt.ReceiverAddr, "receiver", "127.0.0.1:0", "address of the client webhook the bench hosts")
	fs.StringVar(&opt.Client, "client", "", "client id to create (default bench-<random>)")
	fs.BoolVar(&spawn, "spawn", false, "start `ibiki serve` as a child process for the run")
	fs.StringVar(&dbURL, "database-url", "", "with --spawn: its IBIKI_DATABASE_URL (default: a new SQLite file in a temp dir)")
	recipients := fs.Int("recipients", 100_000, "bulk: messages in the bulk request; import: rows in the file")
	watch := fs.Duration("watch", 0, "bulk: measure the dispatch rate over this window (0: do not)")
	source := fs.String("provider", "extremesms", "inbound: whose webhooks to post: extremesms or twilio")
	sendAPI := fs.String("api", "ibiki", "send: which API to send through: ibiki (POST /api/v1/messages) or twilio (the Twilio-compatible Messages.json)")
	tw := loadtest.TwilioTarget{}
	fs.StringVar(&tw.Entry, "twilio-entry", "twilio", "inbound --provider twilio: the name of the server's twilio entry")
	fs.StringVar(&tw.AuthToken, "twilio-auth-token", os.Getenv("IBIKI_BENCH_TWILIO_AUTH_TOKEN"),
		"inbound --provider twilio: that entry's auth_token (default $IBIKI_BENCH_TWILIO_AUTH_TOKEN; --spawn sets its own)")
	fs.StringVar(&tw.SignedBase, "signed-url", os.Getenv("IBIKI_PUBLIC_URL"),
		"inbound --provider twilio: the server's public URL, which signatures cover (default $IBIKI_PUBLIC_URL, else --url)")
	shortCode := fs.String("short-code", "57675", "services: the short code the service is on (given to the bench client)")
	sinkAddr := fs.String("sink", "127.0.0.1:0", "services: address of the fake provider the answers are handed to")
	redisURL := fs.String("redis", "", "services with --spawn: the spawned server's IBIKI_REDIS_URL (sessions in Redis; default: in the database)")
	smppOpt := loadtest.SMPPOptions{}
	fs.StringVar(&smppOpt.Addr, "smpp-addr", "127.0.0.1:2775", "smpp: the server's SMPP address (--spawn picks a free one)")
	fs.IntVar(&smppOpt.Binds, "binds", 4, "smpp: transceiver binds")
	fs.IntVar(&smppOpt.Window, "window", 10, "smpp: submit_sm in flight per bind")
	fs.IntVar(&smppOpt.Messages, "messages", 10_000, "smpp: submit_sm to send")
	if err := fs.Parse(args[1:]); err != nil {
		return config.UsageError(err)
	}
	if opt.Connections < 1 || opt.Phones < 1 || opt.Duration <= 0 || opt.Rate < 0 {
		return errors.New("bench: --connections, --phones and --duration must be positive, --rate not negative")
	}
	if opt.Client == "" {
		opt.Client = "bench-" + randomHex(4)
	}
	opt.Log = stderr
	var childEnv []string
	usage := func(msg string) error { // the flag package prints its own; these are printed here
		fmt.Fprintln(stderr, msg)
		return config.UsageError(errors.New(msg))
	}
	switch *source {
	case "extremesms":
	case "twilio":
		if mode != "inbound" {
			return usage("bench: --provider is for bench inbound")
		}
		if spawn {
			dir, err := os.MkdirTemp("", "ibiki-bench-providers-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if tw.AuthToken, childEnv, err = twilioBenchEntry(dir, tw.Entry); err != nil {
				return err
			}
			tw.SignedBase = "" // the spawned server has no public URL of its own: --url it is
		}
		if tw.AuthToken == "" {
			return usage("bench: --provider twilio needs --twilio-auth-token (or --spawn)")
		}
		opt.Twilio = &tw
	default:
		return usage(fmt.Sprintf("bench: --provider %q: say extremesms or twilio", *source))
	}
	switch *sendAPI {
	case "ibiki":
	case "twilio":
		if mode != "send" {
			return usage("bench: --api is for bench send")
		}
		opt.TwilioAPI = true
	default:
		return usage(fmt.Sprintf("bench: --api %q: say ibiki or twilio", *sendAPI))
	}
	if *redisURL != "" && (mode != "services" || !spawn) {
		return usage("bench: --redis is for bench services --spawn")
	}
	var sink *loadtest.ServiceSink
	if mode == "services" {
		var err error
		if sink, err = loadtest.ListenServiceSink(*sinkAddr); err != nil {
			return err
		}
		defer sink.Close()
		if spawn {
			dir, err := os.MkdirTemp("", "ibiki-bench-providers-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			env, err := sinkBenchEntry(dir, sink.URL())
			if err != nil {
				return err
			}
			// The spawned server keeps its sessions where --redis says, whatever the bench's
			// own environment has.
			childEnv = append(childEnv, env...)
			childEnv = append(childEnv, "IBIKI_REDIS_URL="+*redisURL)
		}
	}
	if mode == "smpp" && spawn {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		smppOpt.Addr = ln.Addr().String()
		ln.Close()
		childEnv = append(childEnv, "IBIKI_SMPP_ADDR="+smppOpt.Addr)
	}
	pid := 0
	if spawn {
		url, token, stop, cmd, err := spawnServer(ctx, dbURL, stderr, childEnv...)
		if err != nil {
			return err
		}
		defer stop()
		opt.URL, opt.AdminToken, pid = url, token, cmd.Process.Pid
	}
	switch mode {
	case "send":
		rep, err := loadtest.Send(ctx, opt)
		if err != nil {
			return err
		}
		rep.Write(stdout)
	case "import", "campaign":
		run := loadtest.Import
		if mode == "campaign" {
			run = loadtest.Campaign
		}
		rep, err := run(ctx, opt, *recipients, pid)
		if err != nil {
			return err
		}
		rep.Write(stdout)
	case "bulk":
		rep, err := loadtest.Bulk(ctx, opt, *recipients, *watch)
		if err != nil {
			return err
		}
		rep.Write(stdout)
	case "smpp":
		if smppOpt.Binds < 1 || smppOpt.Window < 1 || smppOpt.Messages < 1 {
			return usage("bench: --binds, --window and --messages must be positive")
		}
		rep, err := loadtest.SMPP(ctx, opt, smppOpt)
		if err != nil {
			return err
		}
		rep.Write(stdout)
	case "services":
		rep, err := loadtest.Services(ctx, opt, loadtest.ServicesOptions{ShortCode: *shortCode, Settle: time.Second}, sink)
		if err != nil {
			return err
		}
		rep.Write(stdout)
		if !rep.OK() {
			return fmt.Errorf("bench services: not every message was answered exactly once: %d refused, %d unanswered, %d answered twice, %d not delivered to the client",
				rep.Failed, rep.Unanswered, rep.AnsweredTwice, rep.Lost)
		}
	default:
		rep, err := loadtest.Inbound(ctx, opt)
		if err != nil {
			return err
		}
		rep.Write(stdout)
	}
	return nil
}

// spawnServer starts this binary's `serve` on a free port and waits until it is ready.
func spawnServer(ctx context.Context, dbURL string, logw io.Writer, env ...string) (url, token string, stop func(), cmd *exec.Cmd, err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", "", nil, nil, err
	}
	dir := ""
	if dbURL == "" {
		if dir, err = os.MkdirTemp("", "ibiki-bench-"); err != nil {
			return "", "", nil, nil, err
		}
		dbURL = filepath.Join(dir, "bench.db")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	token = randomHex(16)
	cmd = exec.Command(exe, "serve")
	cmd.Env = append(os.Environ(), "IBIKI_ADDR="+addr, "IBIKI_DATABASE_URL="+dbURL, "IBIKI_ADMIN_TOKEN="+token,
		"IBIKI_ALLOW_PRIVATE_WEBHOOKS=true", "IBIKI_PUBLIC_URL=")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		return "", "", nil, nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	url = "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := http.Get(url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return url, token, stop, cmd, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", "", nil, nil, fmt.Errorf("bench: spawned server not ready at %s", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sinkBenchEntry writes, in dir, a providers file whose one provider that sends (the default)
// is an http entry posting to the services bench's sink at url, and returns the environment
// that points the server at it.
func sinkBenchEntry(dir, url string) ([]string, error) {
	file := filepath.Join(dir, "providers.json")
	if err := os.WriteFile(file, loadtest.ServiceSinkProviders(url), 0o600); err != nil {
		return nil, err
	}
	return []string{"IBIKI_PROVIDERS_FILE=" + file}, nil
}

// twilioBenchEntry writes, in dir, a providers file with one Twilio entry named name, for a spawned
// server: its auth token (random) signs the bench's webhooks; it never sends (its API address
// is closed), and the server keeps its default simulator for anything sent. It returns the token
// and the environment that points the server at the file.
func twilioBenchEntry(dir, name string) (token string, env []string, err error) {
	token = randomHex(16)
	entry := map[string]any{"name": name, "type": "twilio", "account_sid": "AC00000000000000000000000000bench",
		"auth_token": token, "base_url": "http://127.0.0.1:9"}
	sim := map[string]any{"name": "simulator", "type": "simulator"}
	b, _ := json.Marshal(map[string]any{"default": "simulator", "providers": []any{entry, sim}})
	file := filepath.Join(dir, "providers.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return "", nil, err
	}
	return token, []string{"IBIKI_PROVIDERS_FILE=" + file}, nil
}
