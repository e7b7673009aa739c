package services

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/optout"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
	"github.com/ibiki/ibiki/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// JobKind is the job that runs a service on one inbound message (Ref: the message id). The jobs
// of one phone with one service share an order key: they run one at a time, in order.
const JobKind model.JobKind = "service"

// Runner runs services on the messages routing gives them.
type Runner struct {
	Store   *store.Store
	Replies *outbound.Service
	State   *State
	// HTTP makes the callouts (webhook.NewClient: the SSRF guard applies); each call has its
	// action's timeout.
	HTTP *http.Client
	// Clock is the services' time: sessions' expiry and the rate limits' buckets (tests move it).
	// What is written for people (the exchange's time, the client's events) has the wall clock.
	Clock func() time.Time
	Log   *slog.Logger
	// DecideInRouting lets routing decide a service itself, in its own transaction, when it can (see
	// Inline): only where one process uses the database (SQLite), whose routing already takes
	// one phone's messages one at a time, in order.
	DecideInRouting bool
}

// Kind is the service job's configuration for the queue runner.
func (r *Runner) Kind(concurrency int) queue.Kind {
	return queue.Kind{Kind: JobKind, Handler: r, Concurrency: concurrency, PerClient: max(concurrency/2, 1), MaxAttempts: 8,
		Backoff: func(n int) time.Duration { return min(200*time.Millisecond<<min(n-1, 8), 30*time.Second) }, OnDead: r.onDead}
}

// Takes reports the active service on the number m (routed to its client) was written to,
// when the service is to take m: the service is the client's (or the operator's), m is text from a phone, not STOP, START or HELP (their handling comes first), not a
// blocked message. Routing asks it before it writes (it reads the cache).
func (r *Runner) Takes(ctx context.Context, m model.Message) (string, bool, error) {
	if m.To == "" || m.Status != model.StatusReceived || !strings.HasPrefix(m.From, "+") ||
		(m.Channel != model.ChannelSMS && m.Channel != model.ChannelWhatsApp) {
		return "", false, nil
	}
	svc, err := r.Store.CachedServiceByNumber(ctx, m.To)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !svc.Active) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if svc.ClientID != "" && svc.ClientID != m.ClientID {
		return "", false, nil // the number went to another client: the service is not theirs
	}
	if action, _ := optout.Classify(m.Body); action != optout.None {
		return "", false, nil
	}
	return svc.ID, true, nil
}

// Enqueue gives a routed message to its number's service, in the routing transaction: the
// client's message.received is then sent by the service's job, with what the service did.
func (r *Runner) Enqueue(ctx context.Context, tx *store.Tx, clientID, serviceID string, m model.Message, now time.Time) error {
	_, err := tx.Enqueue(ctx, model.Job{Kind: JobKind, ClientID: clientID, Ref: m.ID, OrderKey: orderKey(serviceID, m.From),
		Priority: model.PriorityInteractive, RunAt: now, CreatedAt: now})
	return err
}

// Inline decides the service on a routed message for routing's own transaction, saving the
// service job's queue hops (its insert, claim and record: the writes that bound a one-writer
// database): when the runner may (DecideInRouting), no job of the phone with this service is waiting
// (they go first, in order), the decision needs no callout (a callout can take seconds), and,
// with Redis, the service has no rate limit (its token is spent at once: the job would spend
// another). write, when not nil, does in routing's transaction what the job's would; nil: enqueue
// the job. conv is the message's conversation, known only in that transaction.
func (r *Runner) Inline(ctx context.Context, c model.Client, m model.Message, contact model.ContactInfo,
	serviceID string) (write func(ctx context.Context, tx *store.Tx, conv string) error, err error) {
	if !r.DecideInRouting {
		return nil, nil
	}
	svc, err := r.Store.CachedServiceByNumber(ctx, m.To)
	if err != nil || svc.ID != serviceID || (r.State.Redis != nil && svc.Spec.RateLimit != nil) {
		return nil, nil // the job decides (and finds out what changed)
	}
	if waiting, err := r.Store.JobsWaitingOn(ctx, orderKey(serviceID, m.From)); err != nil || waiting {
		return nil, err
	}
	now, at := r.Clock().UTC(), time.Now().UTC()
	e := model.ServiceExchange{ID: model.NewIDAt(model.PrefixExchange, at), ServiceID: svc.ID, ClientID: c.ID, MessageID: m.ID,
		Phone: m.From, Input: m.Body, CreatedAt: at}
	var (
		d    Decision
		prev *model.ServiceSession
	)
	allowed, bucket, err := r.State.Take(ctx, svc, m.From, now)
	if err != nil {
		return nil, err
	}
	if !allowed {
		e.Reason = ReasonRateLimited
	} else {
		sess, err := r.State.Load(ctx, svc.ID, m.From, m.ID, now)
		if err != nil {
			return nil, err
		}
		if sess != nil {
			p := *sess
			prev = &p
		}
		d = Decide(svc, Input{Text: m.Body, Phone: m.From, To: m.To, Contact: contact, Session: sess, Now: now})
		if d.Callout != nil {
			return nil, nil
		}
		e.Command, e.Flow, e.Step, e.Handled, e.Reason, e.Response = d.Command, d.Flow, d.Step, d.Handled, d.Reason, d.Reply
		if r.State.Redis != nil && (prev != nil || d.Session != nil) {
			// Redis is written before routing's transaction: not for a message routed
			// meanwhile (a sweep's stale copy), whose write would go over a later message's.
			if cur, err := r.Store.MessageByID(ctx, m.ID); err != nil || cur.RoutedBy != model.RoutedByNotYetRouted {
				return nil, err
			}
			if err := r.State.SaveFirst(ctx, svc.ID, m.From, m.ID, prev, d.Session, now); err != nil {
				return nil, err
			}
		}
	}
	return func(ctx context.Context, tx *store.Tx, conv string) error {
		var out model.ServiceExchange
		m := m
		m.ConversationID = conv
		if err := r.write(ctx, tx, c, svc, m, contact, e, d, prev, bucket, at, &out); err != nil {
			return err
		}
		tx.AfterCommit(func() { metrics.ServiceMessages.WithLabelValues(strconv.FormatBool(out.Handled), out.Reason).Inc() })
		return nil
	}, nil
}

func orderKey(serviceID, phone string) string { return "svc:" + serviceID + ":" + phone }

// Handle runs the service on one message: it decides (reading the phone's session and rate
// limit), calls the client's endpoint when the decision says so, and writes the answer, the
// contact's changes, the session (database backend), the exchange log and the client's events
// in one transaction with the job's end. A message whose exchange is logged was done before.
func (r *Runner) Handle(ctx context.Context, job model.Job) queue.Result {
	m, err := r.Store.MessageByID(ctx, job.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return queue.Result{}
	}
	if err != nil {
		return queue.Fail(err)
	}
	c, err := r.Store.CachedClient(ctx, m.ClientID)
	if err != nil {
		return queue.Fail(fmt.Errorf("service of %s: client %s: %w", m.ID, m.ClientID, err))
	}
	contact, err := r.contact(ctx, c.ID, m)
	if err != nil {
		return queue.Fail(err)
	}
	now, at := r.Clock().UTC(), time.Now().UTC()
	svc, err := r.Store.CachedServiceByNumber(ctx, m.To)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!svc.Active || (svc.ClientID != "" && svc.ClientID != c.ID) ||
		job.OrderKey != orderKey(svc.ID, m.From))) {
		// The service went away after routing (or the number changed hands and another
		// service came): the client gets the message as any other.
		return queue.Done(func(ctx context.Context, tx *store.Tx) error { return r.received(ctx, tx, c, m, contact, nil, at) })
	}
	if err != nil {
		return queue.Fail(err)
	}
	e := model.ServiceExchange{ID: model.NewIDAt(model.PrefixExchange, at), ServiceID: svc.ID, ClientID: c.ID, MessageID: m.ID,
		Phone: m.From, Input: m.Body, CreatedAt: at}
	var d Decision
	allowed, bucket, err := r.State.Take(ctx, svc, m.From, now)
	if err != nil {
		return queue.Fail(err)
	}
	if !allowed {
		e.Reason = ReasonRateLimited
		return r.finish(c, svc, m, contact, e, d, nil, bucket, at)
	}
	sess, err := r.State.Load(ctx, svc.ID, m.From, m.ID, now)
	if err != nil {
		return queue.Fail(err)
	}
	var prev *model.ServiceSession
	if sess != nil {
		p := *sess
		prev = &p // Decide may extend sess in place
	}
	d = Decide(svc, Input{Text: m.Body, Phone: m.From, To: m.To, Contact: contact, Session: sess, Now: now})
	if d.Callout != nil {
		r.callout(ctx, c, svc, m, &d, &e)
	}
	e.Command, e.Flow, e.Step, e.Handled, e.Reason, e.Response = d.Command, d.Flow, d.Step, d.Handled, d.Reason, d.Reply
	if r.State.Redis != nil {
		// Redis is written before the exchange commits (see State.SaveFirst): unless the
		// exchange is done already (a run of this message again after its commit).
		if _, err := r.Store.ExchangeOfMessage(ctx, m.ID); err == nil {
			return queue.Result{}
		} else if !errors.Is(err, store.ErrNotFound) {
			return queue.Fail(err)
		}
		if err := r.State.SaveFirst(ctx, svc.ID, m.From, m.ID, prev, d.Session, now); err != nil {
			return queue.Fail(err)
		}
	}
	return r.finish(c, svc, m, contact, e, d, prev, bucket, at)
}

// finish writes an exchange at the wall clock's at: see Handle.
func (r *Runner) finish(c model.Client, svc model.Service, m model.Message, contact model.ContactInfo, e model.ServiceExchange,
	d Decision, prev *model.ServiceSession, bucket func(context.Context, *store.Tx) error, now time.Time) queue.Result {
	var out model.ServiceExchange
	return queue.Result{
		Write: func(ctx context.Context, tx *store.Tx) error {
			return r.write(ctx, tx, c, svc, m, contact, e, d, prev, bucket, now, &out)
		},
		After: func() {
			metrics.ServiceMessages.WithLabelValues(strconv.FormatBool(out.Handled), out.Reason).Inc()
		},
	}
}

// write writes an exchange in tx (the job's, or routing's when the service decided inline):
// unless the message's exchange is logged already, the bucket, the decision's effects and
// answer, the exchange (out, as written) and the client's events.
func (r *Runner) write(ctx context.Context, tx *store.Tx, c model.Client, svc model.Service, m model.Message, contact model.ContactInfo,
	e model.ServiceExchange, d Decision, prev *model.ServiceSession, bucket func(context.Context, *store.Tx) error, now time.Time,
	out *model.ServiceExchange) error {
	limited := e.Reason == ReasonRateLimited
	*out = e
	if _, err := tx.ExchangeOfMessage(ctx, m.ID); err == nil {
		return nil // done before: its writes committed with its exchange
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if bucket != nil {
		if err := bucket(ctx, tx); err != nil {
			return err
		}
	}
	if !limited {
		if err := r.apply(ctx, tx, c, m, d, prev, out, now); err != nil {
			return err
		}
	}
	if err := tx.InsertExchange(ctx, *out); err != nil {
		return err
	}
	ct := contact
	if len(d.ContactFields) > 0 && !limited {
		ct = d.Contact
	}
	if err := r.received(ctx, tx, c, m, ct, out, now); err != nil {
		return err
	}
	if d.Completed == nil || limited {
		return nil
	}
	payload, err := webhook.Payload(model.EventFlowCompleted, now, webhook.FlowCompletedData{ServiceID: svc.ID,
		Number: svc.Number, Phone: m.From, Flow: d.Completed.Flow, Answers: d.Completed.Answers, MessageID: m.ID, Contact: ct})
	if err != nil {
		return err
	}
	_, err = webhook.Enqueue(ctx, tx, c, model.EventFlowCompleted, m, payload, now)
	return err
}

// apply writes a decision's effects: the contact's names and tags, the session (database
// backend), and the answer, whose message id and any reason it was not sent go into e.
func (r *Runner) apply(ctx context.Context, tx *store.Tx, c model.Client, m model.Message, d Decision, prev *model.ServiceSession,
	e *model.ServiceExchange, now time.Time) error {
	if len(d.ContactFields) > 0 {
		if err := tx.SetContactFromService(ctx, model.NewIDAt(model.PrefixContact, now), c.ID, m.From, d.Contact, d.ContactFields, now); err != nil {
			return err
		}
	}
	if d.Tag != "" {
		if err := tx.TagContactByPhone(ctx, model.NewIDAt(model.PrefixContact, now), c.ID, m.From, d.Tag, d.TagAdd, now); err != nil {
			return err
		}
	}
	if err := r.State.SaveTx(ctx, tx, e.ServiceID, m.From, prev, d.Session); err != nil {
		return err
	}
	if e.Response == "" {
		return nil
	}
	reply, why, err := r.Replies.QueueServiceReply(ctx, tx, c, m, e.Response, e.ServiceID)
	if err != nil {
		return err
	}
	if why != "" {
		e.Reason = e.Reason + ",not_sent:" + why
		return nil
	}
	e.ReplyID = reply.ID
	return nil
}

// received sends the client its message.received event, with what the service did (nil: no
// service took the message).
func (r *Runner) received(ctx context.Context, tx *store.Tx, c model.Client, m model.Message, contact model.ContactInfo, e *model.ServiceExchange, now time.Time) error {
	var payload []byte
	if c.WebhookURL != "" {
		data := webhook.NewMessageData(m, contact)
		if e != nil {
			data.Service = webhook.NewServiceData(*e)
		}
		var err error
		if payload, err = webhook.Payload(model.EventMessageReceived, now, data); err != nil {
			return err
		}
	}
	_, err := webhook.Enqueue(ctx, tx, c, model.EventMessageReceived, m, payload, now)
	return err
}

// contact is what the client's book knows of the sender, as routing reads it: the book's entry,
// unless it has no name and the provider sent one.
func (r *Runner) contact(ctx context.Context, clientID string, m model.Message) (model.ContactInfo, error) {
	info := m.Contact
	ct, err := r.Store.ContactByPhone(ctx, clientID, m.From)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return info, nil
	case err != nil:
		return info, err
	case ct.FirstName == "" && ct.LastName == "" && (info.FirstName != "" || info.LastName != ""):
		info.Business = ct.Business
		return info, nil
	}
	return model.ContactInfo{FirstName: ct.FirstName, LastName: ct.LastName, Business: ct.Business}, nil
}

// onDead leaves a message whose service failed every run with its client all the same: the
// message.received event says the service failed.
func (r *Runner) onDead(ctx context.Context, tx *store.Tx, job model.Job, cause error) error {
	m, err := tx.MessageByID(ctx, job.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := tx.Client(ctx, m.ClientID)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	serviceID, _, _ := strings.Cut(strings.TrimPrefix(job.OrderKey, "svc:"), ":")
	e := model.ServiceExchange{ID: model.NewIDAt(model.PrefixExchange, now), ServiceID: serviceID, ClientID: c.ID, MessageID: m.ID,
		Phone: m.From, Input: m.Body, Reason: ReasonError, Response: errText(cause), CreatedAt: now}
	r.Log.Error("service failed: the message goes to its client unanswered", "message", m.ID, "error", cause)
	if _, err := tx.ExchangeOfMessage(ctx, m.ID); err == nil {
		return nil // its exchange committed: the client has its event
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := tx.InsertExchange(ctx, e); err != nil {
		return err
	}
	contact, err := r.contact(ctx, c.ID, m)
	if err != nil {
		contact = m.Contact
	}
	e.Response = ""
	return r.received(ctx, tx, c, m, contact, &e, now)
}

// errText is a failure as the exchange log keeps it (in response, for an exchange that failed).
func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if utf8.RuneCountInString(s) > 300 {
		s = string([]rune(s)[:300])
	}
	return "failed: " + s
}

// maxCalloutAnswer bounds what Ibiki reads of a callout endpoint's answer.
const maxCalloutAnswer = 64 << 10

// callout calls the client's endpoint for a decision: the endpoint's reply replaces the
// decision's (and its session is kept, for a command's callout); a failure (transport, status
// not 2xx, an answer that is not {reply, session?}) sends the fallback.
func (r *Runner) callout(ctx context.Context, c model.Client, svc model.Service, m model.Message, d *Decision, e *model.ServiceExchange) {
	co := d.Callout
	start := time.Now()
	reply, session, status, err := r.call(ctx, c, m, co)
	e.CalloutStatus, e.CalloutMS = status, time.Since(start).Milliseconds()
	outcome := "ok"
	if err != nil {
		outcome = "failed"
		r.Log.Warn("service callout failed: the fallback is sent", "client", c.ID, "url", co.URL, "message", m.ID, "error", err)
		d.Reply = co.Fallback
		if d.Reason == ReasonCommand {
			d.Reason = "callout_failed"
		}
	} else {
		if reply != "" {
			d.Reply = reply
		}
		if co.KeepSession {
			switch {
			case len(session) > 0 && string(session) != "null":
				if d.Session == nil {
					d.Session = &model.ServiceSession{ServiceID: e.ServiceID, Phone: m.From}
				}
				s := *d.Session
				s.Data, s.ExpiresAt = session, r.Clock().UTC().Add(svc.Spec.SessionTTL())
				d.Session = &s
			case d.Session != nil && d.Session.Flow == "":
				d.Session = nil // the endpoint keeps nothing more
			}
		}
	}
	metrics.ServiceCallouts.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}

// call posts the callout, signed like the client's webhooks (Standard Webhooks, webhook-id the
// inbound message's id, so that a repeated call is recognisable).
func (r *Runner) call(ctx context.Context, c model.Client, m model.Message, co *Callout) (reply string, session json.RawMessage, status int, err error) {
	body, err := json.Marshal(co.Body)
	if err != nil {
		return "", nil, -1, err
	}
	ctx, cancel := context.WithTimeout(ctx, co.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, co.URL, bytes.NewReader(body))
	if err != nil {
		return "", nil, -1, err
	}
	now := time.Now()
	secrets := []string{c.WebhookSecret}
	if c.PreviousSecret != "" && now.Before(c.PreviousSecretUntil) {
		secrets = append(secrets, c.PreviousSecret)
	}
	sig, err := webhook.SignatureHeader(secrets, m.ID, now, body)
	if err != nil {
		return "", nil, -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Ibiki-Services/1")
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return "", nil, -1, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxCalloutAnswer+1))
	if err != nil {
		return "", nil, resp.StatusCode, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", nil, resp.StatusCode, fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	if len(raw) > maxCalloutAnswer {
		return "", nil, resp.StatusCode, errors.New("the endpoint's answer is over 64 KiB")
	}
	var ans struct {
		Reply   *string         `json:"reply"`
		Session json.RawMessage `json:"session"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return "", nil, resp.StatusCode, fmt.Errorf("the endpoint's answer is not JSON {reply, session?}: %w", err)
	}
	if ans.Reply != nil {
		reply = strings.TrimSpace(*ans.Reply)
		if flaw := text.Check(reply); flaw != text.OK || utf8.RuneCountInString(reply) > 1600 {
			return "", nil, resp.StatusCode, errors.New("the endpoint's reply is not text of at most 1600 characters")
		}
	}
	return reply, ans.Session, resp.StatusCode, nil
}

// Maintain removes expired sessions and idle rate-limit buckets from the database every minute
// until ctx ends (Redis expires its own).
func (r *Runner) Maintain(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := r.Clock().UTC()
		err := r.Store.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.DeleteStaleServiceState(ctx, now, now.Add(-maxRefill))
			return err
		})
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("services: stale sessions not removed", "error", err)
		}
	}
}

// maxRefill is the longest a bucket takes to fill again (1000 tokens at the slowest rate
// allowed is far less): an idle bucket older than this is full, as if it were not there.
const maxRefill = 24 * time.Hour

// Collector is the active-sessions gauge, read when Prometheus scrapes.
func (r *Runner) Collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ibiki_service_sessions_active",
		Help: "Services' sessions not expired (flows in progress, callout sessions kept), in the database or Redis.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := r.State.Active(ctx, r.Clock().UTC())
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	})
}
