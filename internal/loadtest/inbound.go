// Package loadtest drives a running Ibiki and measures it: provider webhooks, with what comes
// out at a client webhook it hosts itself (accepted/s, ingest latency, ingest→delivery latency,
// losses); sends one by one or in bulk (with the dispatch rate read from status events); contact
// imports and campaign creation. `ibiki bench inbound|send|bulk|import|campaign` is its command
// line.
package loadtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ibiki/ibiki/internal/provider/twilio"
)

// Options describes one run.
type Options struct {
	URL          string        // Ibiki's base URL
	AdminToken   string        // to create the bench client
	Connections  int           // concurrent HTTP connections
	Rate         int           // requests per second; 0 = as fast as possible
	Duration     time.Duration // how long to send
	Phones       int           // distinct sender phones
	Drain        time.Duration // how long to wait for deliveries after sending
	ReceiverAddr string        // where the fake client webhook listens
	Client       string        // client id to create
	Log          io.Writer     // progress lines
	// Twilio, when set, makes the inbound bench post Twilio's signed message webhooks to that
	// entry instead of ExtremeSMS's.
	Twilio *TwilioTarget
	// TwilioAPI makes the send bench post to the Twilio-compatible API (POST
	// /2010-04-01/Accounts/{AccountSid}/Messages.json) instead of POST /api/v1/messages.
	TwilioAPI bool
}

// TwilioTarget is the Twilio entry an inbound bench posts to: its name, its auth token (to sign
// as Twilio does), and the base URL Ibiki verifies signatures against (its IBIKI_PUBLIC_URL, or
// the --url it is reached at).
type TwilioTarget struct {
	Entry, AuthToken, SignedBase string
}

// Report is the outcome of a run.
type Report struct {
	Sent, Accepted, Duplicates, Failed int64
	FailedByStatus                     map[string]int64
	SendSeconds                        float64
	AcceptedPerSec                     float64
	IngestP50, IngestP99, IngestMax    time.Duration
	Delivered, Redelivered, Lost       int64
	Strangers                          int64 // deliveries of messages the run did not send
	DeliverSeconds                     float64
	DeliveredPerSec                    float64
	E2EP50, E2EP99, E2EMax             time.Duration
}

// run is what every bench has: its options, a prefix that makes its ids unique, and an HTTP
// client for the API calls that set it up.
type run struct {
	opt    Options
	prefix string
	client *http.Client
}

// Inbound runs the inbound benchmark.
func Inbound(ctx context.Context, opt Options) (Report, error) {
	r := newRun(opt)
	u, err := url.Parse(opt.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return Report{}, fmt.Errorf("bench inbound: --url %q: want http://host:port (the bench speaks plain HTTP/1.1)", opt.URL)
	}
	in := &inboundRun{run: r, addr: u.Host, path: strings.TrimSuffix(u.Path, "/") + "/webhooks/extremesms",
		failed: map[string]int64{}}
	in.body = in.extremeSMS
	if tw := opt.Twilio; tw != nil {
		in.path = strings.TrimSuffix(u.Path, "/") + "/webhooks/" + url.PathEscape(tw.Entry)
		in.signed = strings.TrimSuffix(cmp.Or(tw.SignedBase, opt.URL), "/") + "/webhooks/" + url.PathEscape(tw.Entry)
		in.body = in.twilio
	}
	hook, err := serveWire(opt.ReceiverAddr, in.hook)
	if err != nil {
		return Report{}, err
	}
	defer hook.stop()
	hookURL := "http://" + hook.addr() + "/hook"
	if err := r.createClient(ctx, hookURL); err != nil {
		return Report{}, err
	}
	if opt.Twilio != nil {
		// Twilio's messages route by the number they came to: the bench client owns one.
		in.toNumber = fmt.Sprintf("+1555%07d", time.Now().UnixNano()%10_000_000)
		if err := r.admin(ctx, "POST", "/admin/v1/numbers", map[string]string{"number": in.toNumber, "client_id": opt.Client}, nil, http.StatusCreated); err != nil {
			return Report{}, fmt.Errorf("bench: the bench client's Twilio number: %w", err)
		}
	}
	fmt.Fprintf(opt.Log, "bench: client %s, webhook %s, %d connections, rate %s, %s\n",
		opt.Client, hookURL, opt.Connections, rateText(opt.Rate), opt.Duration)
	start := time.Now()
	sent := in.send(ctx)
	sendDur := time.Since(start)
	fmt.Fprintf(opt.Log, "bench: sent %d in %.1fs; waiting up to %s for deliveries\n", sent, sendDur.Seconds(), opt.Drain)
	in.drain(ctx)
	return in.report(sent, start, sendDur), nil
}

// inboundRun is the state of one inbound bench. Message n (from 1) has the provider message id
// "<prefix>-<n>", so its bookkeeping lives at index n of plain slices.
type inboundRun struct {
	*run
	addr, path string
	// body builds message n's webhook: ExtremeSMS's JSON, or Twilio's signed form (signed is
	// the URL Twilio signs, toNumber the client's number the messages come to).
	body             func(n int64, id string, phone int64) (contentType, sig string, body []byte)
	signed, toNumber string
	mu               sync.Mutex
	due              []time.Time // when message n's request was due (zero: not sent)
	fresh            []int8      // 1 accepted as new, 2 accepted as a duplicate, 0 not accepted
	arrived          []time.Time // when message n first reached the webhook
	ingest           []time.Duration
	failed           map[string]int64
	strangers        int64 // deliveries of messages this run did not send
	redeliv          atomic.Int64
	lastSeen         atomic.Int64 // unix nanos of the last delivery
}

// grow makes index n valid in every slice (mu held).
func (in *inboundRun) grow(n int64) {
	for int64(len(in.due)) <= n {
		in.due = append(in.due, time.Time{})
		in.fresh = append(in.fresh, 0)
		in.arrived = append(in.arrived, time.Time{})
	}
}

func rateText(rate int) string {
	if rate == 0 {
		return "flat out"
	}
	return strconv.Itoa(rate) + "/s"
}

// serve hosts a fake client webhook on ReceiverAddr.
func (r *run) serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", r.opt.ReceiverAddr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/hook", func() { srv.Close() }, nil
}

// hook is the fake client webhook: it notes when each message first arrives.
func (in *inboundRun) hook(body []byte) int {
	now := time.Now()
	id, ok := providerMessageID(body)
	if !ok {
		return http.StatusBadRequest
	}
	n, mine := in.number(id)
	in.mu.Lock()
	switch {
	case !mine || n >= int64(len(in.arrived)):
		in.strangers++
	case in.arrived[n].IsZero():
		in.arrived[n] = now
	default:
		in.redeliv.Add(1)
	}
	in.mu.Unlock()
	in.lastSeen.Store(now.UnixNano())
	return http.StatusOK
}

// providerMessageID reads data.provider_message_id from a message event. The ids the bench
// sends need no JSON escaping, so the field is found as written; anything else is decoded.
func providerMessageID(body []byte) (string, bool) {
	const field = `"provider_message_id":"`
	if i := bytes.Index(body, []byte(field)); i >= 0 {
		rest := body[i+len(field):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
			return string(rest[:j]), true
		}
	}
	var ev struct {
		Data struct {
			ProviderMessageID string `json:"provider_message_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.ProviderMessageID == "" {
		return "", false
	}
	return ev.Data.ProviderMessageID, true
}

// number is n of an id "<prefix>-<n>" of this run.
func (in *inboundRun) number(id string) (int64, bool) {
	rest, ok := strings.CutPrefix(id, in.prefix+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n > 0
}

func (r *run) createClient(ctx context.Context, hookURL string) error {
	body, _ := json.Marshal(map[string]string{"id": r.opt.Client, "name": "bench " + r.opt.Client, "webhook_url": hookURL})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.opt.URL+"/admin/v1/clients", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+r.opt.AdminToken)
	res, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("create bench client: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("create bench client: %d %s (is the admin token right, and IBIKI_ALLOW_PRIVATE_WEBHOOKS=true on the server?)", res.StatusCode, b)
	}
	return nil
}

// send posts webhooks until the duration is over (see pace), each worker on its own
// keep-alive connection.
func (in *inboundRun) send(ctx context.Context) int64 {
	conns := make(chan *wireClient, in.opt.Connections)
	for range in.opt.Connections {
		conns <- newWireClient(in.addr, time.Minute)
	}
	defer func() {
		close(conns)
		for c := range conns {
			c.close()
		}
	}()
	return in.pace(ctx, func(n int64, due time.Time) {
		c := <-conns
		in.post(c, n, due)
		conns <- c
	})
}

func (in *inboundRun) post(c *wireClient, n int64, due time.Time) {
	id := in.prefix + "-" + strconv.FormatInt(n, 10)
	phone := 15550000000 + n%int64(in.opt.Phones)
	contentType, sig, body := in.body(n, id, phone)
	start := time.Now()
	if due.IsZero() {
		due = start
	}
	in.mu.Lock()
	in.grow(n)
	in.due[n] = due
	in.mu.Unlock()
	code, answer, err := c.postSigned(in.path, contentType, sig, body)
	lat := time.Since(due)
	status := "error"
	if err == nil {
		status = strconv.Itoa(code)
	}
	duplicate := err == nil && bytes.Contains(answer, []byte(`"duplicate":true`))
	in.mu.Lock()
	defer in.mu.Unlock()
	if status != "200" {
		in.failed[status]++
		return
	}
	in.ingest = append(in.ingest, lat)
	in.fresh[n] = 1
	if duplicate {
		in.fresh[n] = 2
	}
}

// extremeSMS is ExtremeSMS's webhook for message n, routed by its business field.
func (in *inboundRun) extremeSMS(n int64, id string, phone int64) (string, string, []byte) {
	return "application/json", "", fmt.Appendf(nil, `{"from":"+%d","firstname":"Load","lastname":"Test","business":%q,"message":"bench message %d","status":"received","matchedBlockWord":null,"receiver":"+15557654321","usedmodem":"M1","port":"1","timestamp":%q,"messageId":%q}`,
		phone, in.opt.Client, n, time.Now().UTC().Format(time.RFC3339Nano), id)
}

// twilio is Twilio's incoming-message webhook for message n, with the parameters Twilio sends
// with an SMS, signed with X-Twilio-Signature as Twilio signs it.
func (in *inboundRun) twilio(n int64, id string, phone int64) (string, string, []byte) {
	f := url.Values{"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {id}, "NumMedia": {"0"}, "ToCity": {"SAN FRANCISCO"},
		"FromZip": {"94105"}, "SmsSid": {id}, "FromState": {"CA"}, "SmsStatus": {"received"}, "FromCity": {"SAN FRANCISCO"},
		"Body": {"bench message " + strconv.FormatInt(n, 10)}, "FromCountry": {"US"}, "To": {in.toNumber}, "ToZip": {"94105"},
		"NumSegments": {"1"}, "MessageSid": {id}, "AccountSid": {twilioBenchAccount}, "From": {"+" + strconv.FormatInt(phone, 10)},
		"ApiVersion": {"2010-04-01"}}
	return "application/x-www-form-urlencoded", twilio.Signature(in.opt.Twilio.AuthToken, in.signed, f), []byte(f.Encode())
}

// twilioBenchAccount is the Account SID of the Twilio entry a spawned bench server gets.
const twilioBenchAccount = "AC00000000000000000000000000bench"

// drain waits until every accepted message arrived, nothing arrived for a while, or Drain.
func (in *inboundRun) drain(ctx context.Context) {
	deadline := time.Now().Add(in.opt.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		in.mu.Lock()
		missing := 0
		for n, f := range in.fresh {
			if f != 0 && in.arrived[n].IsZero() {
				missing++
			}
		}
		in.mu.Unlock()
		if missing == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (in *inboundRun) report(sent int64, start time.Time, sendDur time.Duration) Report {
	in.mu.Lock()
	defer in.mu.Unlock()
	rep := Report{Sent: sent, FailedByStatus: in.failed, SendSeconds: sendDur.Seconds(), Redelivered: in.redeliv.Load(),
		Strangers: in.strangers}
	for _, n := range in.failed {
		rep.Failed += n
	}
	var e2e []time.Duration
	for n, f := range in.fresh {
		if f == 0 {
			continue
		}
		rep.Accepted++
		if f == 2 {
			rep.Duplicates++
		}
		if in.arrived[n].IsZero() {
			rep.Lost++
			continue
		}
		rep.Delivered++
		e2e = append(e2e, in.arrived[n].Sub(in.due[n]))
	}
	rep.AcceptedPerSec = float64(rep.Accepted) / sendDur.Seconds()
	rep.IngestP50, rep.IngestP99, rep.IngestMax = percentiles(in.ingest)
	rep.E2EP50, rep.E2EP99, rep.E2EMax = percentiles(e2e)
	if last := in.lastSeen.Load(); last > 0 {
		rep.DeliverSeconds = time.Unix(0, last).Sub(start).Seconds()
		rep.DeliveredPerSec = float64(rep.Delivered) / rep.DeliverSeconds
	}
	return rep
}

func percentiles(ds []time.Duration) (p50, p99, max time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return at(0.50), at(0.99), ds[len(ds)-1]
}

// Write prints the report as aligned text.
func (rep Report) Write(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "sent            %d in %.1fs\n", rep.Sent, rep.SendSeconds)
	fmt.Fprintf(&b, "accepted        %d (%.0f/s), duplicates %d, failed %d %v\n", rep.Accepted, rep.AcceptedPerSec, rep.Duplicates, rep.Failed, rep.FailedByStatus)
	fmt.Fprintf(&b, "ingest latency  p50 %s  p99 %s  max %s\n", ms(rep.IngestP50), ms(rep.IngestP99), ms(rep.IngestMax))
	fmt.Fprintf(&b, "delivered       %d (%.0f/s over %.1fs from the first send), redelivered %d\n", rep.Delivered, rep.DeliveredPerSec, rep.DeliverSeconds, rep.Redelivered)
	fmt.Fprintf(&b, "ingest→delivery p50 %s  p99 %s  max %s\n", ms(rep.E2EP50), ms(rep.E2EP99), ms(rep.E2EMax))
	fmt.Fprintf(&b, "lost            %d\n", rep.Lost)
	if rep.Strangers > 0 {
		fmt.Fprintf(&b, "strangers       %d deliveries of messages this run did not send\n", rep.Strangers)
	}
	io.WriteString(w, b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
