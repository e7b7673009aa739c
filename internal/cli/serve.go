package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/api"
	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/campaign"
	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/contact"
	"github.com/ibiki/ibiki/internal/dashboard"
	"github.com/ibiki/ibiki/internal/hooks"
	"github.com/ibiki/ibiki/internal/importer"
	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/live"
	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/server"
	"github.com/ibiki/ibiki/internal/services"
	"github.com/ibiki/ibiki/internal/smpp/smsc"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
	"github.com/ibiki/ibiki/internal/webhook"
	"github.com/redis/go-redis/v9"
)

// serve runs the server until ctx ends.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	if pct, set := tuneGC(os.Getenv); set {
		log.Debug("garbage collector tuned", "gogc", pct)
	}
	app, err := Build(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer app.Store.Close()

	if cfg.DebugAddr != "" {
		go serveDebug(cfg.DebugAddr, log)
	}
	runCtx, stopRunner := context.WithCancel(context.WithoutCancel(ctx))
	runnerDone := make(chan struct{})
	go func() { app.Run(runCtx); close(runnerDone) }()

	go func() {
		// Open dashboards hold event streams: end them, or the graceful shutdown waits for them.
		<-ctx.Done()
		app.Hub.Close()
	}()
	if cfg.SMPPAddr != "" {
		a, err := app.SMPP.Listen(cfg.SMPPAddr)
		if err != nil {
			stopRunner()
			<-runnerDone
			return fmt.Errorf("IBIKI_SMPP_ADDR: %w", err)
		}
		log.Info("smpp server listening", "addr", a.String(), "tls", cfg.SMPPTLSCert != "")
	}
	err = server.Run(ctx, cfg.Addr, app.Handler, cfg.ShutdownTimeout, log, func(a net.Addr) {
		log.Info("ibiki listening", "addr", a.String(), "database", string(app.Store.Engine()), "version", Version())
	})
	// Clients' binds are unbound (their submits in progress answered first).
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	app.SMPP.Close(closeCtx)
	cancel()
	// The HTTP server has stopped taking requests: now let running jobs finish and stop.
	stopRunner()
	<-runnerDone
	log.Info("ibiki stopped")
	return err
}

// App is a wired Ibiki: the store, the background workers and the HTTP handler.
type App struct {
	Store   *store.Store
	Runner  *queue.Runner
	Router  *inbound.Router
	Handler http.Handler
	Inbound *inbound.Service
	// Outbound sends clients' messages through the Providers, which also take the inbound
	// webhooks (the simulator is the default one until providers are configured).
	Outbound *outbound.Service
	// Services runs the services on numbers (their sessions in Redis when IBIKI_REDIS_URL is set).
	Services      *services.Runner
	Providers     *provider.Registry
	StatusTimeout time.Duration
	// Hub fans changes out to open dashboards; closing it ends their event streams.
	Hub *live.Hub
	// Dashboard is the web interface (its ended sessions and abandoned uploads are swept while
	// running).
	Dashboard *dashboard.Dashboard
	// Log receives what the background work has to report.
	Log *slog.Logger
	// Routes are the patterns registered on Handler's mux, and by whom.
	Routes []server.Route
	// SMPP is the SMPP server for clients; it listens once told to (IBIKI_SMPP_ADDR).
	SMPP *smsc.Server
}

// newSMPPServer makes the SMPP server of the configuration (its TLS certificate read now, so
// that a bad one stops the start).
func newSMPPServer(cfg config.Config, st *store.Store, out *outbound.Service, log *slog.Logger) (*smsc.Server, error) {
	srv := &smsc.Server{Store: st, Outbound: out, Region: cfg.DefaultRegion, Clock: time.Now, Log: log,
		Config: smsc.Config{Idle: cfg.SMPPIdleTimeout}}
	if cfg.SMPPTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.SMPPTLSCert, cfg.SMPPTLSKey)
		if err != nil {
			return nil, fmt.Errorf("IBIKI_SMPP_TLS_CERT/KEY: %w", err)
		}
		srv.Config.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return srv, nil
}

// Run runs the background work — the job runner and the inbound router — until ctx ends, then
// lets it finish (see queue.Runner.Run) and returns.
func (a *App) Run(ctx context.Context) {
	done, shared := make(chan struct{}), make(chan struct{})
	// Adapters with connections of their own (SMPP binds) open them now. They outlive ctx:
	// the runner's last sends still go through them, and Close below ends them.
	a.Providers.Start(context.WithoutCancel(ctx))
	go func() { a.Router.Run(ctx); close(done) }()
	go a.Outbound.Maintain(ctx, a.StatusTimeout)
	go a.Dashboard.Maintain(ctx)
	go a.Services.Maintain(ctx)
	go a.Inbound.Maintain(ctx)
	// With several instances on PostgreSQL, their pages hear each other's changes.
	go func() { a.Store.ShareAnnouncements(ctx, a.Hub.Publish); close(shared) }()
	a.Runner.Run(ctx)
	<-done
	<-shared
	// Nothing runs that could use them any more: stop the adapters that hold something open
	// (the simulator's pending delivery reports).
	if err := a.Providers.Close(); err != nil {
		a.Log.Warn("providers not closed cleanly", "error", err)
	}
	if r := a.Services.State.Redis; r != nil {
		r.Close()
	}
}

// Build opens and migrates the database and wires every part; it is the only place where
// Ibiki's parts are put together (tests build the same App). cfg is a validated configuration
// (config.Load). The caller closes app.Store; when Build fails, the store is already closed.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) (app *App, err error) {
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if _, err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	admin, err := auth.SetupAdmin(ctx, st, cfg.AdminToken, stdout, time.Now())
	if err != nil {
		return nil, err
	}

	in := &inbound.Service{Store: st, Clock: time.Now, Log: log}
	exclusive := st.Engine() == store.SQLite
	router := inbound.NewRouter(in, cfg.RouteConcurrency)
	router.Grace, router.Sweep, router.Exclusive = cfg.JobLease, cfg.JobPoll, exclusive
	runner := queue.New(st, queue.Options{Lease: cfg.JobLease, Poll: cfg.JobPoll, Grace: cfg.ShutdownTimeout, Log: log,
		Exclusive: exclusive})
	deliverer := &webhook.Deliverer{Store: st, HTTP: webhook.NewClient(cfg.WebhookTimeout, cfg.AllowPrivateWebhooks, cfg.WebhookConcurrency),
		Schedule: cfg.WebhookRetrySchedule, Clock: time.Now, Rand: webhook.DefaultRand, Log: log}
	runner.Register(queue.Kind{Kind: model.JobWebhook, Handler: deliverer, OnDead: deliverer.OnDead,
		Concurrency: cfg.WebhookConcurrency, PerClient: cfg.WebhookPerClient})

	providers := provider.NewRegistry()
	out := &outbound.Service{Store: st, Providers: providers, Region: cfg.DefaultRegion, Clock: time.Now, Log: log,
		HelpReply: cfg.HelpReply}
	in.Replies = out
	// Every adapter's status reports end in out: the webhooks' through hooks, and those an
	// adapter makes itself (the simulator's) through Env.Status.
	env := provider.Env{HTTP: provider.NewHTTPClient(30*time.Second, cfg.SendConcurrency), Region: cfg.DefaultRegion, PublicURL: cfg.PublicURL,
		Status: out, Inbound: inboundSink{in}, Log: log}
	if err := loadProviders(providers, cfg, env); err != nil {
		return nil, err
	}
	runner.Register(out.Kind(cfg.SendConcurrency))
	deliverer.Replies = out
	var rdb *redis.Client
	if cfg.RedisURL != "" {
		if rdb, err = openRedis(ctx, cfg.RedisURL); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				rdb.Close()
			}
		}()
	}
	svcs := &services.Runner{Store: st, Replies: out, State: &services.State{Store: st, Redis: rdb},
		HTTP:  webhook.NewClient(model.MaxCalloutTimeout, cfg.AllowPrivateWebhooks, cfg.ServiceConcurrency),
		Clock: time.Now, Log: log, DecideInRouting: exclusive}
	runner.Register(svcs.Kind(cfg.ServiceConcurrency))
	in.Services = svcs
	campaigns := &campaign.Service{Store: st, Outbound: out, Region: cfg.DefaultRegion, Clock: time.Now, Log: log}
	runner.Register(campaigns.Kind())

	tokens, err := auth.SetupTwilioTokens(ctx, st, cfg.SecretKey, time.Now())
	if err != nil {
		return nil, err
	}
	deliverer.Tokens = tokens
	smppServer, err := newSMPPServer(cfg, st, out, log)
	if err != nil {
		return nil, err
	}
	deliverer.SMPP = smppServer
	tenants := &tenant.Service{Store: st, Clock: time.Now, AllowPrivateWebhooks: cfg.AllowPrivateWebhooks, Tokens: tokens}
	imports := &importer.Service{Store: st, Region: cfg.DefaultRegion, AllowConflicts: cfg.AllowContactConflicts,
		Clock: time.Now, Log: log}
	contacts := &contact.Service{Store: st, Region: cfg.DefaultRegion, AllowConflicts: cfg.AllowContactConflicts, Clock: time.Now}
	accounts := &auth.Accounts{Store: st, Clock: time.Now}
	if err := ensureOperator(ctx, cfg, accounts, log); err != nil {
		return nil, err
	}
	hub := live.New()
	sessions := &auth.Sessions{Store: st, Clock: time.Now, Idle: auth.DefaultIdle, Lifetime: auth.DefaultLifetime,
		Secure: strings.HasPrefix(cfg.PublicURL, "https://")}
	st.OnAnnounce(hub.Publish)
	st.SetShareLog(func(err error) { log.Warn("live updates between instances", "error", err) })
	dash := &dashboard.Dashboard{Store: st, Accounts: accounts, Hub: hub, Tenants: tenants, Outbound: out, Inbound: in,
		Campaigns: campaigns, Importer: imports, Providers: providers, PublicURL: cfg.PublicURL,
		CampaignReplyWindow: cfg.CampaignReplyWindow, Region: cfg.DefaultRegion, Clock: time.Now, Log: log,
		Sessions: sessions, Limiter: auth.NewLoginLimiter(time.Now, cfg.TrustedProxies)}
	if cfg.SMPPAddr != "" {
		dash.SMPP = smppServer
	}
	h, routes := server.HandlerWithRoutes(server.Options{Store: st, Registry: metrics.Registry(st, svcs.Collector()), MaxBodyBytes: cfg.MaxBodyBytes,
		UploadBytes: cfg.MaxUploadBytes, UploadPaths: []string{"/api/v1/messages/bulk", "/api/v1/contacts/import", "/api/v1/campaigns",
			"/contacts/import", "/campaigns"},
		AccessLog: cfg.AccessLog, Log: log},
		&api.API{Store: st, Inbound: in, Outbound: out, Tenants: tenants, Providers: providers, Campaigns: campaigns,
			CampaignReplyWindow: cfg.CampaignReplyWindow, Contacts: contacts, Importer: imports, Admin: admin, Clock: time.Now,
			Region: cfg.DefaultRegion, BulkMaxItems: cfg.BulkMaxItems, PriceUnit: cfg.PriceUnit},
		&hooks.Hooks{Inbound: in, Providers: providers, Status: out, Replies: out, TrustedProxies: cfg.TrustedProxies, PublicURL: cfg.PublicURL,
			Log: log},
		dash,
	)
	return &App{Store: st, Runner: runner, Router: router, Handler: h, Inbound: in, Outbound: out, Services: svcs, Providers: providers,
		StatusTimeout: cfg.StatusTimeout, Hub: hub, Dashboard: dash, Log: log, Routes: routes, SMPP: smppServer}, nil
}

// openRedis connects to the Redis of IBIKI_REDIS_URL, and fails at start when it cannot be
// reached, rather than at the first message.
func openRedis(ctx context.Context, url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("IBIKI_REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("IBIKI_REDIS_URL: %s: %w", opt.Addr, err)
	}
	return rdb, nil
}

// ensureOperator creates the first dashboard operator from IBIKI_ADMIN_EMAIL and
// IBIKI_ADMIN_PASSWORD when they are set and no user has that email (config.Validate makes
// sure they come together).
func ensureOperator(ctx context.Context, cfg config.Config, accounts *auth.Accounts, log *slog.Logger) error {
	if cfg.AdminEmail == "" {
		if n, err := accounts.Store.CountUsers(ctx); err == nil && n == 0 {
			log.Info("the dashboard has no operator yet: set IBIKI_ADMIN_EMAIL and IBIKI_ADMIN_PASSWORD, or run `ibiki user create --admin --email ...`")
		}
		return nil
	}
	made, err := accounts.EnsureOperator(ctx, cfg.AdminEmail, cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("IBIKI_ADMIN_EMAIL/IBIKI_ADMIN_PASSWORD: %w", err)
	}
	if made {
		log.Info("dashboard operator created", "email", cfg.AdminEmail)
	}
	return nil
}

// defaultGCPercent is the garbage collector's target Ibiki runs with unless GOGC says otherwise:
// the heap may grow to five times what is live before a collection, rather than Go's twice.
// Ibiki's live heap is small (tens of MB) and every request allocates, so with Go's default the
// collector ran several times a second under load and took about a sixth of the server's CPU:
// at 400 a send costs 15 % less CPU and the server sends 1.2x faster (BENCHMARKS.md, issue 12,
// third session), for a peak of about 150 MB instead of 80 MB. GOMEMLIMIT, when set, still caps
// the heap.
const defaultGCPercent = 400

// tuneGC applies defaultGCPercent when the environment does not set GOGC, and reports whether
// it did.
func tuneGC(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent, true
}

// serveDebug serves pprof on its own listener, never on the public one.
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("debug server listening", "addr", addr)
	if err := http.ListenAndServe(addr, mux); err != nil {
		log.Error("debug server", "error", err)
	}
}

// inboundSink gives adapters with connections of their own (SMPP) the inbound pipeline.
type inboundSink struct{ in *inbound.Service }

func (s inboundSink) AcceptInbound(ctx context.Context, m provider.Inbound) error {
	_, err := s.in.Accept(ctx, m)
	return err
}

func (s inboundSink) AcceptInboundPart(ctx context.Context, m provider.Inbound, ref, total, seq int) error {
	_, err := s.in.AcceptPart(ctx, m, ref, total, seq)
	return err
}
