// Package httpapi is the generic provider adapter for SMS aggregators with an HTTP API: where to
// send, how to shape the request (JSON or form, from a template), how to authenticate, and where
// the provider's message id is in the answer are all configuration. ExtremeSMS is one preset of
// it. Status callbacks, when the aggregator sends them, are mapped the same way.
package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// Config describes one aggregator's API.
type Config struct {
	// URL receives the sends (POST unless Method says otherwise).
	URL    string `json:"url"`
	Method string `json:"method"`
	// Format is "json" (default) or "form".
	Format string `json:"format"`
	// Body maps request fields to values; in values, {to}, {from}, {body}, {id} (Ibiki's
	// message id), {dlt_template_id} and {dlt_entity_id} (the message's DLT ids, India; ""
	// when it has none) are replaced. A field whose value is exactly "{from}" is left out when the
	// provider chooses the sender. Default: {"to":"{to}","message":"{body}"}.
	Body map[string]string `json:"body"`
	// Headers are sent with every request (e.g. "Authorization": "Bearer <key>").
	Headers map[string]string `json:"headers"`
	// IDPath is where the provider's message id is in the JSON answer, dotted ("data.id").
	IDPath string `json:"id_path"`
	// SenderPath, when set, is where the answer says which number the message went out from.
	SenderPath string `json:"sender_path"`
	// IdempotencyHeader, when set, carries Ibiki's message id so the provider recognises a
	// repeat; the adapter then declares itself idempotent.
	IdempotencyHeader string `json:"idempotency_header"`
	// ChooseSender says the provider sends from the number given in {from}.
	ChooseSender bool `json:"choose_sender"`
	// Rate is the throughput limit in messages per second (0: unlimited).
	Rate float64 `json:"rate"`
	// Timeout bounds one call (default 15 s).
	Timeout provider.Duration `json:"timeout"`
	// Status describes the provider's delivery reports (optional).
	Status StatusConfig `json:"status"`
}

// StatusConfig maps a provider's JSON delivery report.
type StatusConfig struct {
	// Token, when set, must come in the TokenHeader header (default X-Webhook-Token) or ?token=.
	Token       string `json:"token"`
	TokenHeader string `json:"token_header"`
	IDPath      string `json:"id_path"`
	StatusPath  string `json:"status_path"`
	ErrorPath   string `json:"error_path"`
	// Map turns the provider's status words into Ibiki's (sent, delivered, undelivered,
	// failed); words not in it are ignored. Matching ignores case.
	Map map[string]string `json:"map"`
}

// Client is a configured aggregator.
type Client struct {
	cfg    Config
	fields []field // cfg.Body, compiled and sorted by name
	http   *http.Client
	guard  provider.Guard // the entry's webhook protection (FromEntry)
}

// field is one request field of Config.Body with its value template split into its literal
// text and its placeholders, so that a send fills it without scanning the template again.
type field struct {
	name     string
	jsonName []byte // name as a JSON string
	parts    []part
	onlyFrom bool // the value is exactly "{from}": left out when the provider chooses the sender
}

// part is literal text, or (lit empty) the placeholder of index ph in placeholders.
type part struct {
	lit string
	ph  int
}

var placeholders = [...]string{"{to}", "{from}", "{body}", "{id}", "{dlt_template_id}", "{dlt_entity_id}"}

// compile splits a value template into parts: each placeholder, left to right, and the text
// between them.
func compile(t string) []part {
	var (
		out []part
		lit strings.Builder
	)
	for i := 0; i < len(t); {
		ph := -1
		if t[i] == '{' {
			for k, p := range placeholders {
				if strings.HasPrefix(t[i:], p) {
					ph = k
					break
				}
			}
		}
		if ph < 0 {
			lit.WriteByte(t[i])
			i++
			continue
		}
		if lit.Len() > 0 {
			out = append(out, part{lit: lit.String(), ph: -1})
			lit.Reset()
		}
		out = append(out, part{ph: ph})
		i += len(placeholders[ph])
	}
	if lit.Len() > 0 {
		out = append(out, part{lit: lit.String(), ph: -1})
	}
	return out
}

// fill writes the field's value for m into b.
func (f field) fill(b *strings.Builder, m provider.Outbound) {
	for _, p := range f.parts {
		switch p.ph {
		case -1:
			b.WriteString(p.lit)
		case 0:
			b.WriteString(m.To)
		case 1:
			b.WriteString(m.From)
		case 2:
			b.WriteString(m.Body)
		case 3:
			b.WriteString(m.MessageID)
		case 4:
			b.WriteString(m.DLTTemplateID)
		case 5:
			b.WriteString(m.DLTEntityID)
		}
	}
}

func (f field) value(m provider.Outbound) string {
	var b strings.Builder
	f.fill(&b, m)
	return b.String()
}

func compileBody(body map[string]string) []field {
	fields := make([]field, 0, len(body))
	for _, name := range slices.Sorted(maps.Keys(body)) {
		jn, _ := json.Marshal(name)
		fields = append(fields, field{name: name, jsonName: jn, parts: compile(body[name]), onlyFrom: body[name] == "{from}"})
	}
	return fields
}

// New checks a configuration and returns its client. httpClient nil uses a default one.
func New(cfg Config, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an http(s) URL", cfg.URL)
	}
	cfg.Method = strings.ToUpper(cmp.Or(cfg.Method, http.MethodPost))
	cfg.Format = cmp.Or(cfg.Format, "json")
	if cfg.Format != "json" && cfg.Format != "form" {
		return nil, fmt.Errorf("format %q is not json or form", cfg.Format)
	}
	if len(cfg.Body) == 0 {
		cfg.Body = map[string]string{"to": "{to}", "message": "{body}"}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = provider.Duration(15 * time.Second)
	}
	if cfg.Status.TokenHeader == "" {
		cfg.Status.TokenHeader = "X-Webhook-Token"
	}
	if (cfg.Status.IDPath == "") != (cfg.Status.StatusPath == "") {
		return nil, errors.New("status: id_path and status_path go together: a report is read by both")
	}
	if cfg.Status.configured() && cfg.Status.Token == "" {
		return nil, errors.New("status: a token is required: without one anyone could report messages failed")
	}
	for k, v := range cfg.Status.Map {
		s := model.MessageStatus(v)
		if s != model.StatusSent && s != model.StatusDelivered && s != model.StatusUndelivered && s != model.StatusFailed {
			return nil, fmt.Errorf("status map: %q → %q: map to sent, delivered, undelivered or failed", k, v)
		}
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{cfg: cfg, fields: compileBody(cfg.Body), http: httpClient}, nil
}

// Capabilities reports the configured sender choice, idempotency and rate.
func (c *Client) Capabilities() provider.Capabilities {
	return provider.Capabilities{ChooseSender: c.cfg.ChooseSender, Idempotent: c.cfg.IdempotencyHeader != "",
		MaxPerSecond: c.cfg.Rate}
}

// Send posts one message.
func (c *Client) Send(ctx context.Context, m provider.Outbound) (provider.SendResult, error) {
	var (
		body  []byte
		ctype string
	)
	if c.cfg.Format == "form" {
		v := url.Values{}
		for _, f := range c.fields {
			if f.onlyFrom && m.From == "" {
				continue
			}
			v.Set(f.name, f.value(m))
		}
		body, ctype = []byte(v.Encode()), "application/x-www-form-urlencoded"
	} else {
		// The object json.Marshal would make of the fields as a map (names sorted), without
		// the map.
		body = append(make([]byte, 0, 256), '{')
		for _, f := range c.fields {
			if f.onlyFrom && m.From == "" {
				continue
			}
			if len(body) > 1 {
				body = append(body, ',')
			}
			v, _ := json.Marshal(f.value(m))
			body = append(append(append(body, f.jsonName...), ':'), v...)
		}
		body = append(body, '}')
		ctype = "application/json"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.cfg.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, c.cfg.Method, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return provider.SendResult{}, &provider.SendError{Permanent: true, Code: "bad_request", Message: err.Error()}
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if c.cfg.IdempotencyHeader != "" {
		req.Header.Set(c.cfg.IdempotencyHeader, m.MessageID)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return provider.SendResult{}, NotSent(err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err := Classify(res, answer); err != nil {
		return provider.SendResult{}, err
	}
	out := provider.SendResult{Status: model.StatusSent}
	var doc any
	if json.Unmarshal(answer, &doc) == nil {
		out.ProviderMessageID = Path(doc, c.cfg.IDPath)
		out.From = Path(doc, c.cfg.SenderPath)
	}
	return out, nil
}

// NotSent turns a transport error into a temporary *provider.SendError when the request surely
// never left (the connection or the name lookup failed), so the message is queued again and
// retried; any other error (a timeout, a dropped connection) is returned as is: unknown whether
// the provider got it.
func NotSent(err error) error {
	var (
		op  *net.OpError
		dns *net.DNSError
	)
	if errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial") {
		return &provider.SendError{Code: "unreachable", Message: err.Error()}
	}
	return err
}

// Classify turns a provider's HTTP answer into nil (accepted) or a *provider.SendError: 429,
// 408, 401, 403 and 5xx are refusals for now (retried, honouring Retry-After: rejected
// credentials are the operator's to fix, not the message's fault), other non-2xx answers are
// permanent.
func Classify(res *http.Response, body []byte) error {
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	e := &provider.SendError{Code: strconv.Itoa(res.StatusCode), Message: snippet(body)}
	switch {
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode == http.StatusRequestTimeout,
		res.StatusCode == http.StatusUnauthorized, res.StatusCode == http.StatusForbidden, res.StatusCode >= 500:
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
	default:
		e.Permanent = true
	}
	return e
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// Path reads a dotted path ("data.id", "messages.0.id") from decoded JSON; numbers are
// formatted without exponent. "" when absent.
func Path(doc any, path string) string {
	if path == "" {
		return ""
	}
	for _, part := range strings.Split(path, ".") {
		switch v := doc.(type) {
		case map[string]any:
			doc = v[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				return ""
			}
			doc = v[i]
		default:
			return ""
		}
	}
	switch v := doc.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return ""
	}
}
