package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider/twilio"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

// responseSnippet is how much of a client's answer each attempt keeps: enough to show an error
// message in the delivery log, not enough to store whatever a broken endpoint returns.
const responseSnippet = 256

// Deliverer is the handler of webhook jobs: one HTTP attempt per run.
type Deliverer struct {
	Store    *store.Store
	HTTP     *http.Client
	Schedule []time.Duration
	Clock    func() time.Time
	Rand     func() float64
	Log      *slog.Logger
	// Tokens derive clients' Twilio auth tokens, which sign Twilio-format deliveries.
	Tokens *auth.TwilioTokens
	// SMPP sends deliveries of format smpp over clients' receiver binds (nil: none is ever up).
	SMPP SMPPSender
	// Replies sends the messages of a TwiML answer to a Twilio-format inbound delivery (nil:
	// such answers are not acted on).
	Replies TwiMLReplier
}

// TwiMLReplier sends the <Message> verbs a client's endpoint answered to the Twilio-format
// delivery d of an inbound message, as sends of the client (each at most once, whatever
// retries happen).
type TwiMLReplier interface {
	ReplyTwiML(ctx context.Context, d model.Delivery, msgs []TwiMLMessage) error
}

// Handle makes one attempt at a delivery and decides what comes next. It is idempotent: a
// delivery that is no longer pending is left alone.
func (dl *Deliverer) Handle(ctx context.Context, job model.Job) queue.Result {
	// The handed-off copy is the delivery as created: only the first run may trust it.
	h, ok := fresh.Take(job.Ref)
	d := h.d
	if !ok || job.Attempts > 1 {
		h = handed{}
		var err error
		d, err = dl.Store.DeliveryByID(ctx, job.Ref)
		if errors.Is(err, store.ErrNotFound) {
			return queue.Result{}
		}
		if err != nil {
			return queue.Fail(err)
		}
	}
	if d.Status != model.DeliveryPending {
		return queue.Result{}
	}
	c, err := dl.Store.CachedClient(ctx, d.ClientID)
	if err != nil {
		return queue.Fail(err)
	}
	now := dl.Clock()
	target := cmp.Or(d.URL, c.WebhookURL) // a status callback has its own URL
	if !c.Active {
		// A deactivated client gets nothing, but loses nothing either: its deliveries wait,
		// without spending attempts, looking again at the schedule's first interval, and go out
		// once the operator activates it again.
		return queue.Result{RetryAt: now.Add(dl.Schedule[0]), Err: errors.New("the client is not active; held")}
	}
	if d.Format == model.DeliverySMPP {
		if r, handled := dl.deliverSMPP(ctx, c, &d, h.data, now); handled {
			return r
		}
	}
	switch {
	case target == "":
		return dl.give(d, model.Attempt{}, "the client has no webhook URL")
	case d.URL == "" && !c.WebhookDisabledAt.IsZero():
		return dl.give(d, model.Attempt{}, "the endpoint is disabled since it answered 410 Gone; saving its URL enables it again")
	}
	a, retryAfter, answer, err := dl.attempt(ctx, c, d, target, now)
	if errors.Is(err, errCannotSign) {
		return dl.give(d, a, a.Error)
	}
	d.Attempts++
	d.LastStatusCode, d.LastError = a.StatusCode, a.Error
	verdict := Classify(a.StatusCode, err)
	metrics.WebhookAttempts.WithLabelValues(verdict.String()).Inc()
	switch verdict {
	case Succeeded:
		dl.replyTwiML(ctx, d, answer)
		d.Status, d.CompletedAt, d.NextAttemptAt = model.DeliverySucceeded, dl.Clock(), time.Time{}
		return queue.Result{
			Finish: func(ctx context.Context, tx *store.Tx, j model.Job) (bool, error) {
				return tx.FinishDelivery(ctx, j, &a, d)
			},
			After: func() {
				metrics.WebhookDeliveries.WithLabelValues("succeeded").Inc()
				metrics.WebhookLatency.Observe(d.CompletedAt.Sub(d.CreatedAt).Seconds())
			},
		}
	case Gone:
		if d.URL != "" {
			return dl.give(d, a, "the status callback URL answered 410 Gone")
		}
		r := dl.give(d, a, "the endpoint answered 410 Gone and is now disabled")
		r.Write = func(ctx context.Context, tx *store.Tx) error { // before Finish, in its transaction
			return tx.DisableWebhook(ctx, c.ID, c.WebhookURL, now)
		}
		return r
	case Retry:
		delay, ok := NextDelay(dl.Schedule, d.Attempts, retryAfter, now, dl.Rand)
		if !ok {
			return dl.give(d, a, fmt.Sprintf("gave up after %d attempts", d.Attempts))
		}
		d.NextAttemptAt = now.Add(delay)
		return queue.Result{
			RetryAt: d.NextAttemptAt,
			Err:     fmt.Errorf("attempt %d: %s", d.Attempts, describe(a)),
			Write:   func(ctx context.Context, tx *store.Tx) error { return tx.RecordAttempt(ctx, a, d) },
		}
	default:
		return dl.give(d, a, describe(a)+" (not retried)")
	}
}

// OnDead marks the delivery of a job that died (its store kept failing) as failed, so that it
// shows among the failed deliveries and can be replayed, instead of staying pending for ever.
func (dl *Deliverer) OnDead(ctx context.Context, tx *store.Tx, job model.Job, cause error) error {
	d, err := tx.DeliveryByID(ctx, job.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || d.Status != model.DeliveryPending {
		return err
	}
	d.Status, d.CompletedAt, d.NextAttemptAt = model.DeliveryFailed, dl.Clock(), time.Time{}
	d.LastError = "delivery job failed: " + errText(cause)
	return tx.UpdateDelivery(ctx, d)
}

// give marks a delivery failed for good (dead-lettered: the operator can replay it).
func (dl *Deliverer) give(d model.Delivery, a model.Attempt, why string) queue.Result {
	d.Status, d.CompletedAt, d.NextAttemptAt, d.LastError = model.DeliveryFailed, dl.Clock(), time.Time{}, why
	dl.Log.Warn("webhook: delivery failed", "delivery", d.ID, "client", d.ClientID, "attempts", d.Attempts, "reason", why)
	return queue.Result{
		Finish: func(ctx context.Context, tx *store.Tx, j model.Job) (bool, error) {
			if a.DeliveryID == "" {
				return tx.FinishDelivery(ctx, j, nil, d)
			}
			return tx.FinishDelivery(ctx, j, &a, d)
		},
		After: func() { metrics.WebhookDeliveries.WithLabelValues("failed").Inc() },
	}
}

// errCannotSign: a Twilio-format delivery whose client's auth token cannot be had (no
// credentials any more, or IBIKI_SECRET_KEY changed): retrying will not help.
var errCannotSign = errors.New("cannot sign")

// maxTwiML is how much of a Twilio-format endpoint's answer to an inbound message is read for
// TwiML.
const maxTwiML = 64 << 10

// attempt makes the HTTP request to target and describes what happened; answer is the body of
// a Twilio-format inbound delivery's answer (for its TwiML), nil otherwise.
func (dl *Deliverer) attempt(ctx context.Context, c model.Client, d model.Delivery, target string, now time.Time) (a model.Attempt, retryAfter string, answer []byte, err error) {
	a = model.Attempt{DeliveryID: d.ID, ClientID: c.ID, At: now, URL: target}
	req, err := dl.request(ctx, c, d, target, now)
	if err != nil {
		a.Error = err.Error()
		return a, "", nil, err
	}
	start := time.Now()
	resp, err := dl.HTTP.Do(req)
	a.Latency = time.Since(start)
	metrics.WebhookAttemptDuration.Observe(a.Latency.Seconds())
	if err != nil {
		a.Error = requestError(err)
		return a, "", nil, err
	}
	defer resp.Body.Close()
	keep := int64(responseSnippet)
	twiml := d.Format == model.DeliveryTwilio && d.Type == model.EventMessageReceived
	if twiml {
		keep = maxTwiML
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, keep))
	// Drain a little more so the connection can be reused; a huge answer is cut off instead.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	snippet := body[:min(len(body), responseSnippet)]
	// The snippet is kept as text (package text): a cut may split a character, and a receiver
	// may answer anything at all, NUL bytes included, which PostgreSQL would refuse.
	a.StatusCode, a.Response = resp.StatusCode, text.Clean(string(snippet))
	if twiml {
		answer = body
	}
	return a, resp.Header.Get("Retry-After"), answer, nil
}

// request builds the POST of a delivery in its format: Standard Webhooks JSON signed with the
// client's webhook secrets, or a Twilio form signed with its auth token.
func (dl *Deliverer) request(ctx context.Context, c model.Client, d model.Delivery, target string, now time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.Payload))
	if err != nil {
		return nil, err
	}
	if d.Format == model.DeliveryTwilio {
		token, err := dl.twilioToken(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(d.Payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "Ibiki-Webhooks/1 (Twilio-compatible)")
		req.Header.Set("I-Twilio-Idempotency-Token", d.ID)
		req.Header.Set("X-Twilio-Signature", twilio.Signature(token, target, form))
		return req, nil
	}
	secrets := []string{c.WebhookSecret}
	if c.PreviousSecret != "" && now.Before(c.PreviousSecretUntil) {
		secrets = append(secrets, c.PreviousSecret)
	}
	sig, err := SignatureHeader(secrets, d.ID, now, d.Payload)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Ibiki-Webhooks/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	return req, nil
}

// twilioToken is the client's auth token, derived again.
func (dl *Deliverer) twilioToken(ctx context.Context, clientID string) (string, error) {
	if dl.Tokens == nil {
		return "", fmt.Errorf("%w: this server signs no Twilio-format deliveries", errCannotSign)
	}
	acct, err := dl.Store.TwilioAccount(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%w: the client has no Twilio credentials (POST /admin/v1/clients/%s/twilio-credentials)", errCannotSign, clientID)
	}
	if err != nil {
		return "", err
	}
	token, err := dl.Tokens.Token(acct)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errCannotSign, err)
	}
	return token, nil
}

// replyTwiML acts on the TwiML answer of a Twilio-format inbound delivery: its <Message> verbs
// are sent (each once: the replier keys them by the delivery). A failure is logged; the
// delivery itself succeeded.
func (dl *Deliverer) replyTwiML(ctx context.Context, d model.Delivery, answer []byte) {
	if len(answer) == 0 || dl.Replies == nil {
		return
	}
	msgs, err := ParseTwiML(answer)
	if err != nil {
		dl.Log.Warn("webhook: the client's TwiML answer", "delivery", d.ID, "client", d.ClientID, "error", err)
	}
	if len(msgs) == 0 {
		return
	}
	if err := dl.Replies.ReplyTwiML(ctx, d, msgs); err != nil {
		dl.Log.Warn("webhook: the client's TwiML reply was not sent", "delivery", d.ID, "client", d.ClientID, "error", err)
	}
}

func describe(a model.Attempt) string {
	if a.Error != "" {
		return a.Error
	}
	return fmt.Sprintf("HTTP %d", a.StatusCode)
}

// DefaultRand is the jitter source of retries.
func DefaultRand() float64 { return rand.Float64() }

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}
