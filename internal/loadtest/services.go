package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The services bench (issue 15): a short code with a service whose commands are answered by
// `reply`, inbound messages to it from many phones at a fixed rate through the ExtremeSMS
// webhook, and the answers caught where the server hands them to its provider: an `http`
// provider entry that posts to the bench's own sink (ServiceSink). Each inbound message names a
// command and a token, "<KEYWORD> <prefix>-<n>"; every command's answer repeats the words after
// the keyword, so the sink finds n in the answer and times inbound → answer per message.

// ServiceCommands are the bench service's commands, cycled over the messages: every match mode,
// each answer repeating the [words] (the message's token).
var ServiceCommands = []struct{ Keyword, Match, Reply string }{
	{"BAL", "first_word", "Balance for [words]: 120 INR."},
	{"1", "first_word", "Thanks, [words] is registered."},
	{"INFO", "first_word", "Info for [words]: open 9 to 5, Monday to Friday."},
	{"ORD", "prefix", "Order [words] is on its way."},
}

// ServiceSinkBody is the body the bench's provider entry posts for each answer (the http
// adapter's body template): the sink reads the answer's text.
var ServiceSinkBody = map[string]string{"to": "{to}", "from": "{from}", "text": "{body}", "ref": "{id}"}

// ServiceSinkProviders is a providers file (IBIKI_PROVIDERS_FILE) whose one provider that sends,
// the default, is an http entry named "sink" posting to url with ServiceSinkBody.
func ServiceSinkProviders(url string) []byte {
	entry := map[string]any{"name": "sink", "type": "http", "url": url, "body": ServiceSinkBody, "choose_sender": true}
	b, _ := json.Marshal(map[string]any{"default": "sink", "providers": []any{entry}}) // strings: always encodes
	return b
}

// ServiceSink is the fake provider the server under test hands its answers to: it answers 200
// (sent) to every request and notes, per message of the run, when its answer came and how many
// times.
type ServiceSink struct {
	srv *wireServer
	rec atomic.Pointer[servicesRun]
	// before counts requests that came before a run was attached (none expected).
	before atomic.Int64
}

// ListenServiceSink starts the sink on addr ("127.0.0.1:0": any free port).
func ListenServiceSink(addr string) (*ServiceSink, error) {
	s := &ServiceSink{}
	srv, err := serveWire(addr, s.handle)
	if err != nil {
		return nil, err
	}
	s.srv = srv
	return s, nil
}

// URL is where the server's provider entry must post.
func (s *ServiceSink) URL() string { return "http://" + s.srv.addr() + "/sms" }

// Close stops the sink.
func (s *ServiceSink) Close() { s.srv.stop() }

func (s *ServiceSink) handle(body []byte) int {
	if r := s.rec.Load(); r != nil {
		r.answer(body)
	} else {
		s.before.Add(1)
	}
	return http.StatusOK
}

// ServicesOptions are the services bench's own settings.
type ServicesOptions struct {
	ShortCode string        // the number the service is on (the bench client gets it)
	Settle    time.Duration // after every message was answered, how long to watch for repeats
}

// ServicesReport is the outcome of a services run.
type ServicesReport struct {
	Report // the inbound side: webhooks accepted, ingest latency, message.received at the client
	// Answered counts the accepted messages whose answer reached the provider; AnsweredTwice
	// those answered more than once; Unanswered those accepted and never answered.
	Answered, AnsweredTwice, Unanswered int64
	Strangers2                          int64 // answers the run did not ask for
	AnswerSeconds, AnsweredPerSec       float64
	AnswerP50, AnswerP90, AnswerP99     time.Duration
	AnswerMax                           time.Duration
	Events                              int64 // other client events (message.status of the answers…)
}

// OK reports whether nothing was lost: every webhook accepted, every message answered exactly
// once and delivered to the client's webhook.
func (rep ServicesReport) OK() bool {
	return rep.Sent > 0 && rep.Failed == 0 && rep.Duplicates == 0 && rep.Unanswered == 0 && rep.AnsweredTwice == 0 &&
		rep.Lost == 0 && rep.Strangers2 == 0
}

// servicesRun is an inbound run whose messages go to a service.
type servicesRun struct {
	*inboundRun
	short    string
	answered []time.Time // when message n's answer first reached the sink (under in.mu)
	answers  []int32     // how many answers message n got
	strange  int64
	lastAns  atomic.Int64
	events   atomic.Int64
}

// Services runs the services bench: it creates the client (with credit, its webhook hosted by
// the bench), gives it the short code, puts the service on it, and posts ExtremeSMS webhooks
// to the short code from Phones phones at Rate for Duration. The server's default provider must
// post to sink (an `http` entry with ServiceSinkBody).
func Services(ctx context.Context, opt Options, so ServicesOptions, sink *ServiceSink) (ServicesReport, error) {
	r := newRun(opt)
	u, err := url.Parse(opt.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return ServicesReport{}, fmt.Errorf("bench services: --url %q: want http://host:port (the bench speaks plain HTTP/1.1)", opt.URL)
	}
	if so.ShortCode == "" {
		so.ShortCode = "57675"
	}
	in := &inboundRun{run: r, addr: u.Host, path: strings.TrimSuffix(u.Path, "/") + "/webhooks/extremesms", failed: map[string]int64{}}
	sr := &servicesRun{inboundRun: in, short: so.ShortCode}
	in.body = sr.message
	hook, err := serveWire(opt.ReceiverAddr, sr.hook)
	if err != nil {
		return ServicesReport{}, err
	}
	defer hook.stop()
	hookURL := "http://" + hook.addr() + "/hook"
	key, err := r.sendingClient(ctx, hookURL)
	if err != nil {
		return ServicesReport{}, err
	}
	if err := r.admin(ctx, "POST", "/admin/v1/numbers", map[string]string{"number": so.ShortCode, "client_id": opt.Client}, nil, http.StatusCreated); err != nil {
		return ServicesReport{}, fmt.Errorf("bench: the short code %s for the bench client (taken by an earlier run? --short-code): %w", so.ShortCode, err)
	}
	cmds := make([]map[string]any, 0, len(ServiceCommands))
	for _, c := range ServiceCommands {
		cmds = append(cmds, map[string]any{"keyword": c.Keyword, "match": c.Match, "description": c.Keyword,
			"action": map[string]string{"type": "reply", "text": c.Reply}})
	}
	spec := map[string]any{"number": so.ShortCode, "name": "bench " + opt.Client, "commands": cmds}
	if err := r.call(ctx, "POST", "/api/v1/services", "Bearer "+key, spec, nil, http.StatusCreated); err != nil {
		return ServicesReport{}, fmt.Errorf("bench: the service on %s: %w", so.ShortCode, err)
	}
	sink.rec.Store(sr)
	defer sink.rec.Store(nil)
	fmt.Fprintf(opt.Log, "bench: client %s, short code %s, webhook %s, provider sink %s, %d connections, %d phones, rate %s, %s\n",
		opt.Client, so.ShortCode, hookURL, sink.URL(), opt.Connections, opt.Phones, rateText(opt.Rate), opt.Duration)
	start := time.Now()
	sent := in.send(ctx)
	sendDur := time.Since(start)
	fmt.Fprintf(opt.Log, "bench: sent %d in %.1fs; waiting up to %s for the answers\n", sent, sendDur.Seconds(), opt.Drain)
	sr.drain(ctx, so.Settle)
	return sr.report(sent, start, sendDur), nil
}

// message is the ExtremeSMS webhook of message n: a command and its token, from phone to the
// short code (routed by the number rule).
func (sr *servicesRun) message(n int64, id string, phone int64) (string, string, []byte) {
	c := ServiceCommands[int(n)%len(ServiceCommands)]
	kw := c.Keyword
	if n%3 == 0 {
		kw = strings.ToLower(kw) // keywords are case-insensitive
	}
	return "application/json", "", fmt.Appendf(nil, `{"from":"+%d","firstname":"Load","lastname":"Test","message":"%s %s","status":"received","matchedBlockWord":null,"receiver":%q,"usedmodem":"M1","port":"1","timestamp":%q,"messageId":%q}`,
		phone, kw, id, sr.short, time.Now().UTC().Format(time.RFC3339Nano), id)
}

// hook is the client's webhook: message.received events are noted as the inbound bench notes
// them; the client's other events (the answers' status) are counted.
func (sr *servicesRun) hook(body []byte) int {
	if bytes.Contains(body, []byte(`"type":"message.received"`)) {
		return sr.inboundRun.hook(body)
	}
	sr.events.Add(1)
	return http.StatusOK
}

// answer notes one request of the provider sink: the run's token in its text names the message.
func (sr *servicesRun) answer(body []byte) {
	now := time.Now()
	n, ok := sr.token(body)
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if !ok || n >= int64(len(sr.due)) || sr.due[n].IsZero() {
		sr.strange++
		return
	}
	for int64(len(sr.answered)) <= n {
		sr.answered = append(sr.answered, time.Time{})
		sr.answers = append(sr.answers, 0)
	}
	if sr.answers[n] == 0 {
		sr.answered[n] = now
	}
	sr.answers[n]++
	sr.lastAns.Store(now.UnixNano())
}

// token finds "<prefix>-<n>" in an answer.
func (sr *servicesRun) token(body []byte) (int64, bool) {
	p := []byte(sr.prefix + "-")
	i := bytes.Index(body, p)
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(p):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil && n > 0
}

// pending counts the accepted messages not yet answered, and not yet delivered to the client.
func (sr *servicesRun) pending() (unanswered, undelivered int) {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	for n, f := range sr.fresh {
		if f == 0 {
			continue
		}
		if n >= len(sr.answers) || sr.answers[n] == 0 {
			unanswered++
		}
		if sr.arrived[n].IsZero() {
			undelivered++
		}
	}
	return unanswered, undelivered
}

// drain waits until every accepted message was answered and delivered to the client (then
// settle more, for repeats to show), or Drain.
func (sr *servicesRun) drain(ctx context.Context, settle time.Duration) {
	deadline := time.Now().Add(sr.opt.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if a, d := sr.pending(); a == 0 && d == 0 {
			select {
			case <-time.After(settle):
			case <-ctx.Done():
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (sr *servicesRun) report(sent int64, start time.Time, sendDur time.Duration) ServicesReport {
	rep := ServicesReport{Report: sr.inboundRun.report(sent, start, sendDur), Events: sr.events.Load()}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	rep.Strangers2 = sr.strange
	var lat []time.Duration
	for n, f := range sr.fresh {
		if f == 0 {
			continue
		}
		if n >= len(sr.answers) || sr.answers[n] == 0 {
			rep.Unanswered++
			continue
		}
		rep.Answered++
		if sr.answers[n] > 1 {
			rep.AnsweredTwice++
		}
		lat = append(lat, sr.answered[n].Sub(sr.due[n]))
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	rep.AnswerP50, rep.AnswerP90, rep.AnswerP99 = q(0.50), q(0.90), q(0.99)
	if len(lat) > 0 {
		rep.AnswerMax = lat[len(lat)-1]
	}
	if last := sr.lastAns.Load(); last > 0 {
		rep.AnswerSeconds = time.Unix(0, last).Sub(start).Seconds()
		rep.AnsweredPerSec = float64(rep.Answered) / rep.AnswerSeconds
	}
	return rep
}

// Write prints the report.
func (rep ServicesReport) Write(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "sent            %d in %.1fs (%.0f/s)\n", rep.Sent, rep.SendSeconds, float64(rep.Sent)/rep.SendSeconds)
	fmt.Fprintf(&b, "accepted        %d (%.0f/s), duplicates %d, failed %d %v\n", rep.Accepted, rep.AcceptedPerSec, rep.Duplicates, rep.Failed, rep.FailedByStatus)
	fmt.Fprintf(&b, "ingest latency  p50 %s  p99 %s  max %s\n", ms(rep.IngestP50), ms(rep.IngestP99), ms(rep.IngestMax))
	fmt.Fprintf(&b, "answered        %d (%.0f/s over %.1fs from the first send), answered twice %d\n", rep.Answered, rep.AnsweredPerSec, rep.AnswerSeconds, rep.AnsweredTwice)
	fmt.Fprintf(&b, "inbound→answer  p50 %s  p90 %s  p99 %s  max %s\n", ms(rep.AnswerP50), ms(rep.AnswerP90), ms(rep.AnswerP99), ms(rep.AnswerMax))
	fmt.Fprintf(&b, "client events   message.received %d (p50 %s  p99 %s), redelivered %d, undelivered %d; others %d\n",
		rep.Delivered, ms(rep.E2EP50), ms(rep.E2EP99), rep.Redelivered, rep.Lost, rep.Events)
	fmt.Fprintf(&b, "unanswered      %d\n", rep.Unanswered)
	if rep.Strangers > 0 || rep.Strangers2 > 0 {
		fmt.Fprintf(&b, "strangers       %d events and %d answers of messages this run did not send\n", rep.Strangers, rep.Strangers2)
	}
	verdict := "nothing lost"
	if !rep.OK() {
		verdict = "LOSSES (see above)"
	}
	fmt.Fprintf(&b, "verdict         %s\n", verdict)
	io.WriteString(w, b.String())
}
