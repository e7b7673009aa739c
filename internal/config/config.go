// Package config reads Ibiki's configuration from flags and IBIKI_* environment variables (a
// secret may come from the file named by its _FILE variant), applies defaults and validates.
// Every setting is declared once, in the table below, which also feeds -help and the redacted
// dump, so the documentation cannot drift from the code.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/webhook"
)

// Source is the optional protection of one inbound webhook source, set by
// IBIKI_SOURCE_<NAME>_*: it protects the provider entry of that name (see provider.Guard),
// which may instead carry webhook_* fields of its own in the providers file.
type Source struct {
	Token       string
	TokenHeader string
	HMACSecret  string
	HMACHeader  string
	AllowIPs    []netip.Prefix
}

// Config is everything `ibiki serve` needs.
type Config struct {
	Addr                  string
	DatabaseURL           string
	AdminToken            string
	AdminEmail            string
	AdminPassword         string
	SecretKey             string
	PriceUnit             string
	PublicURL             string
	AllowPrivateWebhooks  bool
	WebhookRetrySchedule  []time.Duration
	WebhookTimeout        time.Duration
	WebhookConcurrency    int
	WebhookPerClient      int
	RouteConcurrency      int
	SendConcurrency       int
	ServiceConcurrency    int
	RedisURL              string
	SMPPAddr              string
	SMPPTLSCert           string
	SMPPTLSKey            string
	SMPPIdleTimeout       time.Duration
	StatusTimeout         time.Duration
	HelpReply             string
	ProvidersFile         string
	AllowContactConflicts bool
	CampaignReplyWindow   time.Duration
	Simulator             Simulator
	DefaultRegion         string
	MaxBodyBytes          int64
	MaxUploadBytes        int64
	BulkMaxItems          int
	JobLease              time.Duration
	JobPoll               time.Duration
	ShutdownTimeout       time.Duration
	TrustedProxies        []netip.Prefix
	LogLevel              slog.Level
	LogFormat             string
	AccessLog             bool
	DebugAddr             string
	Sources               map[string]Source
}

// SourceNames are the inbound webhook sources that take IBIKI_SOURCE_<NAME>_* settings: the
// provider entries Ibiki configures by default, older than the providers file's webhook_* fields.
var SourceNames = []string{"extremesms", "generic"}

type setting struct {
	env, def, usage string
	secret          bool
	apply           func(c *Config, v string) error
}

func settings() []setting {
	s := []setting{
		{"ADDR", "127.0.0.1:8080", "address the HTTP server listens on", false,
			func(c *Config, v string) error { c.Addr = v; return nil }},
		{"DATABASE_URL", "ibiki.db", "SQLite file path, or a postgres:// URL to use PostgreSQL", true,
			func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
		{"ADMIN_TOKEN", "", "bearer token of the admin API; when unset, one is generated on first start, stored hashed and printed once", true,
			func(c *Config, v string) error { c.AdminToken = v; return nil }},
		{"ADMIN_EMAIL", "", "email of the first dashboard operator, created on start (with IBIKI_ADMIN_PASSWORD) when no user has it", false,
			func(c *Config, v string) error { c.AdminEmail = strings.TrimSpace(v); return nil }},
		{"ADMIN_PASSWORD", "", "password of that first operator (at least 10 characters, at most 256 bytes); later changes are made in the dashboard", true,
			func(c *Config, v string) error { c.AdminPassword = v; return nil }},
		{"SECRET_KEY", "", "server secret from which clients' Twilio-compatible auth tokens are derived (they are stored only hashed, yet Ibiki signs with them); unset: one is generated on first start and kept in the database. Changing it voids every issued auth token for signing until rotated", true,
			func(c *Config, v string) error { c.SecretKey = v; return nil }},
		{"PRICE_UNIT", "USD", "currency of the clients' credits as the Twilio-compatible API names it (price_unit, Balance.json); credits are counted in hundredths of it", false,
			func(c *Config, v string) error {
				if v = strings.TrimSpace(v); len(v) != 3 || strings.ToUpper(v) != v {
					return fmt.Errorf("%q is not a three-letter currency code (USD, EUR, INR...)", v)
				}
				c.PriceUnit = v
				return nil
			}},
		{"PUBLIC_URL", "", "address people and providers reach Ibiki at (e.g. https://sms.example.com): the setup page and invitation links use it, Twilio providers without status_callback point delivery reports at its /webhooks/{name}/status, and https makes session cookies Secure; unset: the request's own host", false,
			func(c *Config, v string) error {
				v = strings.TrimRight(strings.TrimSpace(v), "/")
				if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
					return fmt.Errorf("%q does not start with http:// or https://", v)
				}
				c.PublicURL = v
				return nil
			}},
		{"ALLOW_PRIVATE_WEBHOOKS", "false", "let client webhook URLs point at private, loopback and link-local addresses (tests, local setups)", false,
			boolVar(func(c *Config) *bool { return &c.AllowPrivateWebhooks })},
		{"WEBHOOK_RETRY_SCHEDULE", "5s,5m,30m,2h,5h,10h,14h,20h,24h", "waits between client webhook attempts (with ±10% jitter); after the last, the delivery is dead-lettered", false,
			func(c *Config, v string) (err error) {
				c.WebhookRetrySchedule, err = webhook.ParseSchedule(v)
				return err
			}},
		{"WEBHOOK_TIMEOUT", "15s", "time limit of one client webhook attempt", false,
			durationVar(func(c *Config) *time.Duration { return &c.WebhookTimeout })},
		{"WEBHOOK_CONCURRENCY", "512", "client webhook attempts in flight at once (per instance)", false,
			intVar(func(c *Config) *int { return &c.WebhookConcurrency })},
		{"WEBHOOK_CLIENT_CONCURRENCY", "256", "client webhook attempts in flight at once for one client (per instance), so a slow client cannot take every slot", false,
			intVar(func(c *Config) *int { return &c.WebhookPerClient })},
		{"ROUTE_CONCURRENCY", "128", "routing workers (per instance); each phone's messages go to one of them, in order", false,
			intVar(func(c *Config) *int { return &c.RouteConcurrency })},
		{"SERVICE_CONCURRENCY", "256", "services' jobs (commands, flows, callouts) run at once (per instance), half of them at most for one client; each phone's messages to one service run one at a time, in order", false,
			intVar(func(c *Config) *int { return &c.ServiceConcurrency })},
		{"REDIS_URL", "", "redis:// URL of the Redis that keeps the services' sessions and per-phone rate limits, shared by every instance (e.g. redis://127.0.0.1:6379/0); unset: they are kept in the database", true,
			func(c *Config, v string) error {
				v = strings.TrimSpace(v)
				if v != "" && !strings.HasPrefix(v, "redis://") && !strings.HasPrefix(v, "rediss://") && !strings.HasPrefix(v, "unix://") {
					return fmt.Errorf("%q is not a redis://, rediss:// or unix:// URL", v)
				}
				c.RedisURL = v
				return nil
			}},
		{"SEND_CONCURRENCY", "256", "provider sends in flight at once (per instance); each provider's own throttle applies on top", false,
			intVar(func(c *Config) *int { return &c.SendConcurrency })},
		{"STATUS_TIMEOUT", "48h", "a sent message with no final status from its provider after this becomes \"unknown\"", false,
			durationVar(func(c *Config) *time.Duration { return &c.StatusTimeout })},
		{"HELP_REPLY", "[client]: reply STOP to stop these messages, START to get them again.", "automatic answer to an inbound HELP ([client] is the client's name; \"off\": no answer)", false,
			func(c *Config, v string) error {
				if strings.EqualFold(strings.TrimSpace(v), "off") {
					v = ""
				}
				c.HelpReply = v
				return nil
			}},
		{"CONTACT_CONFLICTS", "reject", "a contact import meeting a phone that is another client's contact: reject (reported as a conflict) or allow (routing then relies on the business tag)", false,
			func(c *Config, v string) error {
				switch v {
				case "reject", "allow":
					c.AllowContactConflicts = v == "allow"
					return nil
				}
				return fmt.Errorf("%q is not reject or allow", v)
			}},
		{"CAMPAIGN_REPLY_WINDOW", "72h", "a reply this long at most after a campaign message was sent (handed to the provider, not queued) counts as \"replied\" for the campaign", false,
			durationVar(func(c *Config) *time.Duration { return &c.CampaignReplyWindow })},
		{"PROVIDERS_FILE", "", "JSON file of the providers (simulator, extremesms, generic, twilio, http) with credentials, rates and webhook protection; unset: the simulator, and the extremesms and generic inbound webhooks (see docs/providers.md)", false,
			func(c *Config, v string) error { c.ProvidersFile = v; return nil }},
		{"SIMULATOR_RATE", "0", "messages per second the simulator provider takes (0: unlimited)", false,
			func(c *Config, v string) error { return floatIn(v, 0, 1e6, &c.Simulator.Rate) }},
		{"SIMULATOR_LATENCY", "200ms", "time from a send to the simulator's delivery report", false,
			durationVar(func(c *Config) *time.Duration { return &c.Simulator.Latency })},
		{"SIMULATOR_FAILURE_RATIO", "0", "share (0 to 1) of messages the simulator reports undelivered", false,
			func(c *Config, v string) error { return floatIn(v, 0, 1, &c.Simulator.FailureRatio) }},
		{"DEFAULT_REGION", "US", "ISO country code for phone numbers written without a country code", false,
			func(c *Config, v string) error {
				v = strings.ToUpper(strings.TrimSpace(v))
				if !sms.ValidRegion(v) {
					return fmt.Errorf("%q is not a two-letter region code with a calling code", v)
				}
				c.DefaultRegion = v
				return nil
			}},
		{"MAX_BODY_BYTES", "65536", "largest request body accepted; larger ones get 413", false,
			func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 1024 {
					return fmt.Errorf("%q is not a byte count of at least 1024", v)
				}
				c.MaxBodyBytes = n
				return nil
			}},
		{"MAX_UPLOAD_BYTES", "104857600", "largest body of a bulk send or a file upload; larger ones get 413", false,
			func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 1024 {
					return fmt.Errorf("%q is not a byte count of at least 1024", v)
				}
				c.MaxUploadBytes = n
				return nil
			}},
		{"BULK_MAX_ITEMS", "10000", "most messages one bulk send may carry", false,
			intVar(func(c *Config) *int { return &c.BulkMaxItems })},
		{"JOB_LEASE", "60s", "how long a claimed job stays claimed; work of a crashed instance is taken over after this", false,
			durationVar(func(c *Config) *time.Duration { return &c.JobLease })},
		{"JOB_POLL", "250ms", "longest wait between looks at the job queue (how fast work queued by other instances is seen)", false,
			durationVar(func(c *Config) *time.Duration { return &c.JobPoll })},
		{"SHUTDOWN_TIMEOUT", "20s", "how long a graceful shutdown waits for requests and running jobs", false,
			durationVar(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{"TRUSTED_PROXIES", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed", false,
			func(c *Config, v string) (err error) { c.TrustedProxies, err = ParsePrefixes(v); return err }},
		{"LOG_LEVEL", "info", "debug, info, warn or error", false,
			func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
		{"LOG_FORMAT", "text", "text or json", false,
			func(c *Config, v string) error {
				if v != "text" && v != "json" {
					return fmt.Errorf("%q is not text or json", v)
				}
				c.LogFormat = v
				return nil
			}},
		{"SMPP_ADDR", "", "address of the SMPP server clients bind to (host:port, e.g. :2775; docs/smpp.md); unset: no SMPP server", false,
			func(c *Config, v string) error {
				if v = strings.TrimSpace(v); v != "" {
					if _, _, err := net.SplitHostPort(v); err != nil {
						return fmt.Errorf("%q is not host:port", v)
					}
				}
				c.SMPPAddr = v
				return nil
			}},
		{"SMPP_TLS_CERT", "", "PEM certificate (chain) file: with IBIKI_SMPP_TLS_KEY, the SMPP server speaks TLS", false,
			func(c *Config, v string) error { c.SMPPTLSCert = v; return nil }},
		{"SMPP_TLS_KEY", "", "PEM private key file of IBIKI_SMPP_TLS_CERT", false,
			func(c *Config, v string) error { c.SMPPTLSKey = v; return nil }},
		{"SMPP_IDLE_TIMEOUT", "2m", "an SMPP bind from which nothing came for this long (not even enquire_link) is unbound", false,
			durationVar(func(c *Config) *time.Duration { return &c.SMPPIdleTimeout })},
		{"DEBUG_ADDR", "", "when set, serve Go's pprof profiles on this separate address (keep it on loopback)", false,
			func(c *Config, v string) error { c.DebugAddr = v; return nil }},
		{"ACCESS_LOG", "false", "log every HTTP request at info level (errors are always logged)", false,
			boolVar(func(c *Config) *bool { return &c.AccessLog })},
	}
	for _, name := range SourceNames {
		up := strings.ToUpper(name)
		src := func(c *Config) *Source {
			s := c.Sources[name]
			return &s
		}
		set := func(f func(s *Source, v string)) func(c *Config, v string) error {
			return func(c *Config, v string) error {
				s := src(c)
				f(s, v)
				c.Sources[name] = *s
				return nil
			}
		}
		s = append(s,
			setting{"SOURCE_" + up + "_TOKEN", "", "shared secret " + name + " webhooks must carry (header or ?token=)", true,
				set(func(s *Source, v string) { s.Token = v })},
			setting{"SOURCE_" + up + "_TOKEN_HEADER", "X-Webhook-Token", "header carrying the " + name + " shared secret", false,
				set(func(s *Source, v string) { s.TokenHeader = v })},
			setting{"SOURCE_" + up + "_HMAC_SECRET", "", "key of the HMAC-SHA256 body signature " + name + " webhooks must carry", true,
				set(func(s *Source, v string) { s.HMACSecret = v })},
			setting{"SOURCE_" + up + "_HMAC_HEADER", "X-Signature", "header carrying the " + name + " body signature (hex or base64)", false,
				set(func(s *Source, v string) { s.HMACHeader = v })},
			setting{"SOURCE_" + up + "_ALLOW_IPS", "", "comma-separated IPs/CIDRs allowed to post " + name + " webhooks (empty: any)", false,
				func(c *Config, v string) error {
					nets, err := ParsePrefixes(v)
					s := src(c)
					s.AllowIPs = nets
					c.Sources[name] = *s
					return err
				}},
		)
	}
	return s
}

// Simulator tunes the built-in simulator provider.
type Simulator struct {
	Rate         float64
	Latency      time.Duration
	FailureRatio float64
}

func floatIn(v string, lo, hi float64, dst *float64) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < lo || f > hi {
		return fmt.Errorf("%q is not a number from %g to %g", v, lo, hi)
	}
	*dst = f
	return nil
}

// flagName turns an env suffix into a flag name: WEBHOOK_TIMEOUT → webhook-timeout.
func flagName(env string) string { return strings.ToLower(strings.ReplaceAll(env, "_", "-")) }

// ErrUsage marks a command line that could not be read (a flag that does not exist, a missing
// value, a stray argument): the command exits with status 2, after the flag package printed
// what went wrong and the usage. A request for help (-h) is flag.ErrHelp underneath.
var ErrUsage = errors.New("usage")

// UsageError marks err, an error of reading flags, as ErrUsage (keeping err underneath).
func UsageError(err error) error { return fmt.Errorf("%w: %w", ErrUsage, err) }

// Load reads the configuration: flags win over IBIKI_* variables, which win over defaults. For
// a secret, IBIKI_X_FILE names a file holding the value. A configuration whose settings each
// read well but break a rule between them (Validate) is an error too.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	c := Config{Sources: map[string]Source{}}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	table := settings()
	vals := make([]*string, len(table))
	for i, s := range table {
		help := s.usage + " (env IBIKI_" + s.env
		if s.secret {
			help += " or IBIKI_" + s.env + "_FILE"
		}
		help += ")"
		vals[i] = fs.String(flagName(s.env), "", help+"; default "+strconv.Quote(s.def))
	}
	if err := fs.Parse(args); err != nil {
		return c, UsageError(err)
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(usage, err) // printed like the flag package's own complaints
		return c, UsageError(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	for i, s := range table {
		v, err := value(s, *vals[i], set[flagName(s.env)], getenv)
		if err == nil {
			err = s.apply(&c, v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("IBIKI_%s: %w", s.env, err))
		}
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, c.Validate()
}

func value(s setting, flagVal string, flagSet bool, getenv func(string) string) (string, error) {
	if flagSet {
		return flagVal, nil
	}
	if v := getenv("IBIKI_" + s.env); v != "" {
		return v, nil
	}
	if s.secret {
		if path := getenv("IBIKI_" + s.env + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("read secret file: %w", err)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	return s.def, nil
}

// Dump writes the effective configuration, one IBIKI_ variable per line, secrets redacted.
func Dump(w io.Writer, getenv func(string) string) error {
	table := settings()
	sort.Slice(table, func(i, j int) bool { return table[i].env < table[j].env })
	for _, s := range table {
		v, err := value(s, "", false, getenv)
		if err != nil {
			return err
		}
		if s.secret && v != "" {
			v = "[redacted]"
		}
		fmt.Fprintf(w, "IBIKI_%s=%s\n", s.env, v)
	}
	return nil
}

// Markdown writes the settings as a Markdown table (docs/configuration.md is made from it).
func Markdown(w io.Writer) {
	fmt.Fprintln(w, "| variable | flag | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range settings() {
		env := "`IBIKI_" + s.env + "`"
		if s.secret {
			env += " (or `_FILE`)"
		}
		def := "`" + s.def + "`"
		if s.def == "" {
			def = "(none)"
		}
		fmt.Fprintf(w, "| %s | `--%s` | %s | %s |\n", env, flagName(s.env), def, s.usage)
	}
}

func boolVar(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*field(c) = b
		return nil
	}
}

func intVar(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive whole number", v)
		}
		*field(c) = n
		return nil
	}
}

func durationVar(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration like 15s", v)
		}
		*field(c) = d
		return nil
	}
}
