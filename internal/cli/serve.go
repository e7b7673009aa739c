package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/ibiki/ibiki/internal/api"
	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/hooks"
	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/server"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/webhook"
)

// serve is the only place where Ibiki's parts are wired together.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.JobLease <= 2*cfg.WebhookTimeout {
		return fmt.Errorf("IBIKI_JOB_LEASE (%s) must be more than twice IBIKI_WEBHOOK_TIMEOUT (%s): a delivery still running when its lease ends would be sent twice",
			cfg.JobLease, cfg.WebhookTimeout)
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)

	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	admin, err := auth.SetupAdmin(ctx, st, cfg.AdminToken, stdout, time.Now())
	if err != nil {
		return err
	}

	in := &inbound.Service{Store: st, Clock: time.Now, Log: log}
	runner := queue.New(st, queue.Options{Lease: cfg.JobLease, Poll: cfg.JobPoll, Grace: cfg.ShutdownTimeout, Log: log})
	runner.Register(queue.Kind{Kind: model.JobRoute, Handler: in, Concurrency: cfg.RouteConcurrency})
	runner.Register(queue.Kind{Kind: model.JobWebhook, Concurrency: cfg.WebhookConcurrency, PerClient: cfg.WebhookPerClient,
		Handler: &webhook.Deliverer{Store: st, HTTP: webhook.NewClient(cfg.WebhookTimeout, cfg.AllowPrivateWebhooks),
			Schedule: cfg.WebhookRetrySchedule, Clock: time.Now, Rand: webhook.DefaultRand, Log: log}})

	guards := map[string]hooks.Guard{}
	for name, s := range cfg.Sources {
		guards[name] = hooks.Guard{Token: s.Token, TokenHeader: s.TokenHeader, HMACSecret: s.HMACSecret,
			HMACHeader: s.HMACHeader, AllowNets: s.AllowIPs}
	}
	h := server.Handler(server.Options{Store: st, Registry: metrics.Registry(st), MaxBodyBytes: cfg.MaxBodyBytes,
		AccessLog: cfg.AccessLog, Log: log},
		&api.API{Store: st, Inbound: in, Admin: admin, Clock: time.Now, Region: cfg.DefaultRegion,
			AllowPrivateWebhooks: cfg.AllowPrivateWebhooks},
		&hooks.Hooks{Inbound: in, Region: cfg.DefaultRegion, Guards: guards, TrustedProxies: cfg.TrustedProxies, Log: log},
	)

	runCtx, stopRunner := context.WithCancel(context.WithoutCancel(ctx))
	runnerDone := make(chan struct{})
	go func() { runner.Run(runCtx); close(runnerDone) }()

	err = server.Run(ctx, cfg.Addr, h, cfg.ShutdownTimeout, log, func(a net.Addr) {
		log.Info("ibiki listening", "addr", a.String(), "database", string(st.Engine()), "version", Version())
	})
	// The HTTP server has stopped taking requests: now let running jobs finish and stop.
	stopRunner()
	<-runnerDone
	log.Info("ibiki stopped")
	return err
}
