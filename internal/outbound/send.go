// Package outbound sends clients' messages: it accepts a send (phone, body, opt-out, credits,
// sender) in one transaction with its send job, runs that job against the provider, and moves
// the message through its statuses (its provider's reports arrive through ApplyStatus, the
// provider.StatusSink), telling the client's webhook each time when the client has one.
package outbound

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

// MaxSegments is the longest message accepted.
const MaxSegments = 10

// Errors a send can end with besides field errors. The API maps them to its codes.
var (
	// ErrOptedOut: the recipient asked this client to stop; nothing was charged.
	ErrOptedOut = errors.New("the recipient has opted out of this client's messages")
	// ErrSenderNotAllowed: "from" is not a number of this client or of the shared pool.
	ErrSenderNotAllowed = errors.New("from is not a number this client may send from")
	// ErrSenderNotSupported: the provider of "from" cannot send from a chosen number.
	ErrSenderNotSupported = errors.New("the provider of this number cannot send from a chosen number")
	// ErrClientInactive: a deactivated client cannot send.
	ErrClientInactive = errors.New("the client is deactivated")
	// ErrChannelNotSupported: no provider this message could go through carries its channel.
	ErrChannelNotSupported = errors.New("the provider this message would go through does not carry its channel")
	// ErrMediaNotSupported: the provider this message would go through sends no attachments.
	ErrMediaNotSupported = errors.New("the provider this message would go through does not send media")
)

// Limits on a message's attachments: Twilio takes at most 10 media URLs a message.
const (
	MaxMedia         = 10
	maxMediaURLRunes = 2048
)

// FieldError is a bad input field (the API answers 400 naming it).
type FieldError = provider.FieldError

// Service accepts and dispatches outbound messages.
type Service struct {
	Store     *store.Store
	Providers *provider.Registry
	// Region reads numbers written without a country code.
	Region string
	Clock  func() time.Time
	Log    *slog.Logger
	// HelpReply answers an inbound HELP ("" = no answer); "[client]" becomes the client's name.
	HelpReply string

	poolNext atomic.Uint64 // round robin over the shared pool
	numMu    sync.Mutex
	numCache map[string]senderNumbers
	limMu    sync.Mutex
	limiters map[string]*bucket
	gateMu   sync.Mutex
	gates    map[string]*sync.RWMutex
	startMu  sync.Mutex
	started  map[string]model.Message // by message id: messages a claim recorded "sending" (claimed.go)
}

// Request is one message a client asks to send.
type Request struct {
	To   string
	Body string
	From string // optional: a number of the client or the pool
	// Priority orders the client's queue: replies in a conversation go ahead of bulk traffic.
	Priority int
	// Refused, in a bulk send, is the caller's refusal of this item (a template it could not
	// render): the item is reported by its index with this error and not sent.
	Refused error
	// Channel is sms (the default) or whatsapp; a "whatsapp:" prefix on To says whatsapp too.
	Channel model.Channel
	// MediaURLs are attachments by address (MMS, WhatsApp media): absolute http(s) URLs.
	MediaURLs []string
	// SendAt, when set, schedules the message: it is accepted (and charged) now, "scheduled"
	// until then, and can be canceled (Cancel) before. Within MaxSchedule from now.
	SendAt time.Time
	// ValidFor, when set, is how long after its acceptance (or its SendAt) the message may
	// still be handed to its provider; later, it fails (error 30036) and is refunded.
	ValidFor time.Duration
	// StatusCallback is a URL its status changes are posted to, as Twilio's status callbacks
	// (the Twilio-shaped API; the SSRF guard applies when they are posted).
	StatusCallback string
	// Receipt asks the message's final status back as an SMPP delivery receipt
	// (model.SMPPReceiptAll or model.SMPPReceiptFailure; "" for none). It is its status
	// callback: a request has one or the other.
	Receipt string
	// ID is the message's id when it was chosen beforehand (SendPart: the parts of a
	// concatenated message were answered with it); "" for a new one.
	ID string
	// DLTTemplateID names the client's DLT template (its DLT id) the body must match (India).
	DLTTemplateID string
	// DLTMatch: when the client requires DLT and no template is named, the first of its
	// templates the body matches is taken (transports without the field: the Twilio-shaped
	// API, campaigns). Without it such a send is ErrDLTRequired.
	DLTMatch bool
}

// ErrorValidityExpired is the error code of a message whose validity period elapsed before it
// could be sent (Twilio's code for it).
const ErrorValidityExpired = "30036"

// Scheduling limits: a message is scheduled at least MinSchedule and at most MaxSchedule
// ahead (Twilio's own window is 15 minutes to 35 days; Ibiki allows sooner).
const (
	MinSchedule = time.Minute
	MaxSchedule = 35 * 24 * time.Hour
	// MaxValidFor is the longest validity period (Twilio's: 36,000 s).
	MaxValidFor = 36000 * time.Second
)

// Draft is a request that passed validation: what it will cost and how it will travel.
type Draft struct {
	To      string
	Body    string
	From    string
	Channel model.Channel
	Media   []model.Attachment
	Count   sms.Count
	Cost    int64
	Req     Request
	client  model.Client
	// auto marks Ibiki's own replies (HELP): free, and sent even to a phone that opted out.
	auto bool
	// prepaid: the charge was made before (a campaign reserves its whole cost when it starts).
	prepaid    bool
	campaignID string
	// screened: the recipient's opt-out was read by the caller, in this transaction
	// (replyDraft), so queue need not read it again.
	screened bool
	// meta is the message's meta ("" for none; HELP replies get autoMeta).
	meta string
	// answered: the message is handed to its provider in the answer to the provider's own
	// request (AnswerAutoReply): it is stored "sent", not queued.
	answered bool
	// screenInTouch: the opt-out is read with the conversation's write, and an opted-out
	// recipient fails the function (Send on PostgreSQL, where a read is a round trip). Only for
	// a caller whose function ends on that error, which undoes the conversation's write.
	screenInTouch bool
	// dltTemplateID and dltEntityID are the DLT ids the message goes under (checkDLT,
	// OwnReplyDLT); "" for none.
	dltTemplateID, dltEntityID string
	// start: the message is stored already handed to its send run when it can be
	// (insertStarted), so that it costs no claim: an answer routing queues (a service's reply,
	// an auto-reply), and a client's send on SQLite (prepare).
	start bool
	// clientSend: a client's send (Send). Its answer (the 202, an idempotent replay) shows the
	// message as accepted, "queued" with no attempt, even when it is born started.
	clientSend bool
}

// Check validates a request for a client without writing anything. The body must be text
// (package text), whichever transport brings it.
func (s *Service) Check(c model.Client, req Request) (Draft, error) {
	if !c.Active {
		return Draft{}, ErrClientInactive
	}
	if strings.TrimSpace(req.To) == "" {
		return Draft{}, &FieldError{Field: "to", Reason: "to is required"}
	}
	ch, rawTo, err := channelOf(req)
	if err != nil {
		return Draft{}, err
	}
	to, err := sms.NormalizeE164(rawTo, s.Region)
	if err != nil {
		return Draft{}, &FieldError{Field: "to", Reason: err.Error()}
	}
	media, err := checkMedia(req.MediaURLs)
	if err != nil {
		return Draft{}, err
	}
	if strings.TrimSpace(req.Body) == "" && len(media) == 0 {
		return Draft{}, &FieldError{Field: "body", Reason: "body is required and must not be blank (unless media_urls are given)"}
	}
	if flaw := text.Check(req.Body); flaw != text.OK {
		return Draft{}, &FieldError{Field: "body", Reason: "body must be text: it holds " + flaw.String()}
	}
	n := sms.Segments(req.Body)
	if n.Segments > MaxSegments {
		return Draft{}, &FieldError{Field: "body", Reason: fmt.Sprintf("body takes %d segments (%s, %d units); at most %d are allowed",
			n.Segments, n.Encoding, n.Units, MaxSegments)}
	}
	if n.Segments == 0 {
		n.Segments = 1 // media without text still travel, and cost, as one message
	}
	if err := s.checkTiming(req); err != nil {
		return Draft{}, err
	}
	if req.StatusCallback != "" {
		if err := checkCallback(req.StatusCallback); err != nil {
			return Draft{}, err
		}
	}
	if asked, _ := model.SMPPReceipt(model.Message{StatusCallback: req.Receipt}); req.Receipt != "" && (!asked || req.StatusCallback != "") {
		return Draft{}, &FieldError{Field: "registered_delivery", Reason: "a message asks an SMPP receipt or a status callback, not both"}
	}
	d := Draft{To: to, Body: req.Body, Channel: ch, Media: media, Count: n, Cost: int64(n.Segments) * c.RateCents, Req: req, client: c}
	if req.From != "" {
		if d.From, err = sms.NormalizeAddress(req.From, s.Region); err != nil {
			return Draft{}, &FieldError{Field: "from", Reason: err.Error()}
		}
	}
	return d, nil
}

// checkTiming checks a request's schedule and validity period.
func (s *Service) checkTiming(req Request) error {
	if !req.SendAt.IsZero() {
		ahead := req.SendAt.Sub(s.Clock())
		if ahead < MinSchedule || ahead > MaxSchedule {
			return &FieldError{Field: "send_at", Reason: fmt.Sprintf("send_at must be between %s and %d days ahead", MinSchedule, MaxSchedule/(24*time.Hour))}
		}
	}
	if req.ValidFor < 0 || req.ValidFor > MaxValidFor || (req.ValidFor > 0 && req.ValidFor < time.Second) {
		return &FieldError{Field: "validity_period", Reason: fmt.Sprintf("validity_period must be from 1 to %d seconds", int(MaxValidFor/time.Second))}
	}
	return nil
}

// checkCallback checks a status callback URL's form (where it points is checked when it is
// posted to, as for webhooks).
func checkCallback(raw string) error {
	u, err := url.Parse(raw)
	if flaw := text.Check(raw); flaw != text.OK || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		utf8.RuneCountInString(raw) > maxMediaURLRunes {
		return &FieldError{Field: "status_callback", Reason: fmt.Sprintf("status_callback must be an absolute http or https URL of at most %d characters", maxMediaURLRunes)}
	}
	return nil
}

// whatsappPrefix marks a WhatsApp address, as Twilio writes them: "whatsapp:+15551234567".
const whatsappPrefix = "whatsapp:"

// channelOf reads a request's channel and the number without its channel prefix.
func channelOf(req Request) (model.Channel, string, error) {
	to, ch := strings.TrimSpace(req.To), req.Channel
	if len(to) > len(whatsappPrefix) && strings.EqualFold(to[:len(whatsappPrefix)], whatsappPrefix) {
		if ch != "" && ch != model.ChannelWhatsApp {
			return "", "", &FieldError{Field: "channel", Reason: fmt.Sprintf("channel %q does not match a whatsapp: address", ch)}
		}
		to, ch = to[len(whatsappPrefix):], model.ChannelWhatsApp
	}
	switch ch {
	case "":
		return model.ChannelSMS, to, nil
	case model.ChannelSMS, model.ChannelWhatsApp:
		return ch, to, nil
	}
	return "", "", &FieldError{Field: "channel", Reason: fmt.Sprintf("channel %q cannot be sent to: sms and whatsapp can", ch)}
}

// checkMedia reads media URLs into attachments (their type is the provider's to find out).
func checkMedia(urls []string) ([]model.Attachment, error) {
	if len(urls) > MaxMedia {
		return nil, &FieldError{Field: "media_urls", Reason: fmt.Sprintf("at most %d media URLs are allowed", MaxMedia)}
	}
	var media []model.Attachment
	for i, raw := range urls {
		field := fmt.Sprintf("media_urls[%d]", i)
		if flaw := text.Check(raw); flaw != text.OK {
			return nil, &FieldError{Field: field, Reason: "must be text: it holds " + flaw.String()}
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || utf8.RuneCountInString(raw) > maxMediaURLRunes {
			return nil, &FieldError{Field: field, Reason: fmt.Sprintf("must be an absolute http or https URL of at most %d characters", maxMediaURLRunes)}
		}
		media = append(media, model.Attachment{URL: raw})
	}
	return media, nil
}

// Send accepts one message. When it returns nil, the message, its charge and its send job are
// committed together, so a crash right after the 202 cannot lose or double-charge it. The
// message is the operation's result (store.Tx.Done): a request's Idempotency-Key is kept with it.
func (s *Service) Send(ctx context.Context, c model.Client, req Request) (model.Message, error) {
	return s.send(ctx, c, req, nil)
}

// send is Send, with also written in its transaction (nil for nothing more).
func (s *Service) send(ctx context.Context, c model.Client, req Request, also func(*store.Tx) error) (model.Message, error) {
	d, pick, err := s.prepare(ctx, c, req)
	if err != nil {
		return model.Message{}, err
	}
	return s.commitSend(ctx, d, pick, also)
}

// commitSend writes a prepared send in a transaction. On SQLite the opt-out is the
// transaction's first read (queue), before any write: an opted-out recipient ends the function
// without an error, having written nothing, and the send fails after it. An error would have
// the writer run the other functions of its batch again, each in a savepoint (store.InTx).
func (s *Service) commitSend(ctx context.Context, d Draft, pick func(last string) (route, error), also func(*store.Tx) error) (model.Message, error) {
	var (
		m     model.Message
		opted bool
	)
	err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		opted = false
		if m, err = s.queue(ctx, tx, d, pick, s.Clock().UTC()); err != nil {
			if errors.As(err, new(optedOutFirst)) {
				opted = true
				return nil
			}
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		return tx.Done(ctx, m)
	})
	switch {
	case err != nil:
		return m, err
	case opted:
		return model.Message{}, ErrOptedOut
	}
	metrics.OutboundAccepted.WithLabelValues(m.Provider).Inc()
	return m, nil
}

// prepare checks a request and reads what its transaction needs, outside it: the draft, and
// how its sender is picked.
func (s *Service) prepare(ctx context.Context, c model.Client, req Request) (Draft, func(last string) (route, error), error) {
	d, err := s.Check(c, req)
	if err != nil {
		return Draft{}, nil, err
	}
	if err := s.checkDLT(ctx, &d); err != nil {
		return Draft{}, nil, err
	}
	if _, err := s.sendingNumbers(ctx, c.ID); err != nil {
		return Draft{}, nil, err // read now, on the read pool, rather than in the transaction
	}
	d.clientSend = true
	if s.Store.Engine() == store.Postgres {
		d.screenInTouch = true // one round trip fewer: the opt-out rides in the conversation's write
	} else {
		// The opt-out is read in the transaction, first (commitSend): a read connection would
		// read its pages again after every write, and a send born started needs it read in
		// the transaction anyway (BENCHMARKS.md, issue 16's fifth increment).
		//
		// Born started when it can be: the claim and its "sending" step are two updates of the
		// message's row and the writer's (BENCHMARKS.md, issue 16's fourth increment).
		// PostgreSQL keeps the claim: there a send born started would add two round trips to
		// the client's transaction.
		d.start = true
	}
	pick := func(last string) (route, error) {
		return s.chooseSender(ctx, c.ID, d.To, d.From, d.Channel, func(context.Context, string, string) (string, error) { return last, nil })
	}
	return d, pick, nil
}

// optedOutFirst is ErrOptedOut (it unwraps to it, and says the same) found by the read queue
// makes before any write: commitSend may end its function without an error on it.
type optedOutFirst struct{ error }

func (e optedOutFirst) Unwrap() error { return e.error }

// queue writes one accepted message: opt-out check, conversation, sender (pick gets the
// number the contact last wrote to), charge, then the message itself.
func (s *Service) queue(ctx context.Context, tx *store.Tx, d Draft, pick func(last string) (route, error), now time.Time) (model.Message, error) {
	if !d.auto && !d.screened && !d.screenInTouch {
		if err := optedOut(ctx, tx, d.client.ID, d.To); err != nil {
			if errors.Is(err, ErrOptedOut) {
				err = optedOutFirst{err}
			}
			return model.Message{}, err
		}
	}
	m := newMessage(d, route{}, now)
	m.Meta = d.meta
	if d.auto {
		m.Meta = autoMeta
	}
	var (
		conv, last string
		opted      bool
		err        error
	)
	newConv, ordered := model.NewIDAt(model.PrefixConversation, now), d.Req.Priority != model.PriorityBulk
	if d.screenInTouch {
		conv, last, opted, err = tx.TouchOutboundScreened(ctx, m.ClientID, m, newConv, ordered)
	} else {
		conv, last, err = tx.TouchOutbound(ctx, m.ClientID, m, newConv, ordered)
	}
	if err != nil {
		return m, err
	}
	if opted {
		return model.Message{}, ErrOptedOut
	}
	r, err := pick(last)
	if err != nil {
		return m, err
	}
	m.ConversationID, m.From, m.Provider, m.CampaignID = conv, r.from, r.provider, d.campaignID
	if err := s.carries(r.provider, d); err != nil {
		return m, err
	}
	if m.CostCents > 0 && !d.prepaid {
		// At the commit: the client's balance row is the one row every send of the client
		// writes (see store.MoveCreditsAtCommit, and its lock order).
		if err := tx.MoveCreditsAtCommit(ctx, model.LedgerEntry{ID: model.NewIDAt(model.PrefixLedger, now), ClientID: d.client.ID,
			Kind: model.LedgerCharge, AmountCents: -m.CostCents, Reference: "message " + m.ID, MessageID: m.ID, CreatedAt: now}); err != nil {
			return m, err
		}
	}
	if d.answered {
		m.Status, m.SendAttempts = model.StatusSent, 1
		return m, tx.InsertOutboundSent(ctx, m)
	}
	if m.Status == model.StatusScheduled {
		// Not ordered: a message waiting for its time must not hold back its conversation.
		return m, tx.QueueOutboundAt(ctx, m, false, d.Req.Priority, d.Req.SendAt.UTC())
	}
	if d.start {
		accepted := m
		err := s.insertStarted(ctx, tx, &m, d.Req.Priority, now)
		if d.clientSend && m.Status == model.StatusSending {
			// A client hears of its send as accepted, "queued", no attempt made: its provider is
			// called after the commit (the row says "sending" from the commit on, and its event
			// says so).
			return accepted, err
		}
		return m, err
	}
	return m, insert(ctx, tx, &m, d.Req.Priority)
}

// insertStarted stores a send as its send job's claim would leave it when it can
// (store.QueueStartedSend): "sending", its attempt recorded with its client's event, and
// handed to this process's send run after the commit, which then only calls the provider
// (takeStarted). It can when the message is one the claim would start (claimed: a provider
// that needs the attempt recorded and has no throttle, no campaign, no validity period, not
// bulk; the opt-out read in this transaction, by queue or replyDraft) and no send of its
// conversation is ahead of it; otherwise it is queued like any send. A crash after the commit
// leaves it as a crash after a claim does: "sending", reconciled when its lease lapses.
func (s *Service) insertStarted(ctx context.Context, tx *store.Tx, m *model.Message, priority int, now time.Time) error {
	if priority == model.PriorityBulk || m.Status != model.StatusQueued || m.CampaignID != "" || !m.ValidUntil.IsZero() ||
		!slices.Contains(s.direct(), m.Provider) {
		return insert(ctx, tx, m, priority)
	}
	var (
		started bool
		msg     model.Message
	)
	// Registered before the insert's own (its Take): the run finds its message kept.
	tx.AfterCommit(func() {
		if started {
			s.keepStarted(msg)
			metrics.OutboundStatus.WithLabelValues(msg.Provider, string(model.StatusSending)).Inc()
		}
	})
	started, err := tx.QueueStartedSend(ctx, *m, priority, now)
	if err != nil || !started {
		return err
	}
	m.Status, m.SendAttempts, m.StatusAt, m.SentAt = model.StatusSending, m.SendAttempts+1, now, now
	msg = *m
	return s.event(ctx, tx, *m, model.EventMessageStatus, now)
}

// carries refuses a message its provider cannot send: a channel or media it does not carry.
func (s *Service) carries(name string, d Draft) error {
	if (d.Channel == "" || d.Channel == model.ChannelSMS) && len(d.Media) == 0 {
		return nil
	}
	p, ok := s.Providers.Get(name)
	if !ok {
		return nil // dispatch fails it, as any message whose provider is gone
	}
	caps := p.Capabilities()
	if !caps.Carries(d.Channel) {
		return fmt.Errorf("%w: %s does not carry %s", ErrChannelNotSupported, name, d.Channel)
	}
	if len(d.Media) > 0 && !caps.Media {
		return fmt.Errorf("%w: %s", ErrMediaNotSupported, name)
	}
	return nil
}

// autoMeta marks Ibiki's own replies (HELP) in the message's meta.
const autoMeta = `{"auto":"help"}`

func isAuto(m model.Message) bool { return m.Meta == autoMeta }

// optOuts reads the suppression lists: the store's read pool, or a write transaction.
type optOuts interface {
	OptOut(ctx context.Context, clientID, phone string) (model.OptOut, error)
}

// optedOut is ErrOptedOut when the phone is on the client's suppression list.
func optedOut(ctx context.Context, r optOuts, clientID, phone string) error {
	_, err := r.OptOut(ctx, clientID, phone)
	switch {
	case err == nil:
		return ErrOptedOut
	case errors.Is(err, store.ErrNotFound):
		return nil
	default:
		return err
	}
}

func newMessage(d Draft, r route, now time.Time) model.Message {
	m := model.Message{
		ID: cmp.Or(d.Req.ID, model.NewIDAt(model.PrefixMessage, now)), ClientID: d.client.ID, Direction: model.Outbound,
		Channel: cmp.Or(d.Channel, model.ChannelSMS), Media: d.Media, From: r.from, To: d.To, Body: d.Body, Status: model.StatusQueued,
		Provider: r.provider, RoutedBy: model.RoutedByOutbound, Segments: d.Count.Segments,
		Encoding: string(d.Count.Encoding), CostCents: d.Cost, StatusAt: now, ReceivedAt: now, CreatedAt: now,
		StatusCallback: cmp.Or(d.Req.StatusCallback, d.Req.Receipt), DLTTemplateID: d.dltTemplateID, DLTEntityID: d.dltEntityID,
	}
	start := now
	if !d.Req.SendAt.IsZero() {
		m.Status, start = model.StatusScheduled, d.Req.SendAt.UTC()
	}
	if d.Req.ValidFor > 0 {
		m.ValidUntil = start.Add(d.Req.ValidFor)
	}
	return m
}

// insert stores a charged message with its conversation (unless the caller touched it already),
// queued to be sent (the message is its own send job). Messages to one phone are sent one at a
// time, in order, except bulk ones:
// a bulk send is a set of independent messages, and ordering each of its thousands of
// recipients would take a lock per recipient in one transaction (PostgreSQL runs out of lock
// slots near 100,000).
func insert(ctx context.Context, tx *store.Tx, m *model.Message, priority int) error {
	var err error
	ordered := priority != model.PriorityBulk
	if m.ConversationID == "" {
		if m.ConversationID, _, err = tx.TouchOutbound(ctx, m.ClientID, *m, model.NewIDAt(model.PrefixConversation, m.CreatedAt), ordered); err != nil {
			return err
		}
	}
	return tx.QueueOutbound(ctx, *m, ordered, priority)
}

// QueueHelpReply queues the HELP auto-reply to an inbound message, inside the routing
// transaction, from the number the contact wrote to when its provider can send from it. It is
// free for the client.
func (s *Service) QueueHelpReply(ctx context.Context, tx *store.Tx, c model.Client, in model.Message) error {
	if s.HelpReply == "" {
		return nil
	}
	body := strings.ReplaceAll(s.HelpReply, "[client]", c.Name)
	n := sms.Segments(body)
	d := Draft{To: in.From, Body: body, Channel: in.Channel, Count: n, Req: Request{Priority: model.PriorityInteractive}, client: c, auto: true}
	if ok, err := s.OwnReplyDLT(ctx, &d, "HELP"); !ok {
		return err
	}
	r := route{provider: s.Providers.Default()}
	if in.To != "" {
		num := model.Number{Number: in.To}
		if known, err := s.Store.CachedNumber(ctx, in.To); err == nil {
			num = known
		}
		if name, ok := s.canChoose(num, in.Channel); ok && (num.ClientID == "" || num.ClientID == c.ID) {
			r = route{from: in.To, provider: name}
		}
	}
	if err := s.carries(r.provider, d); err != nil {
		// No provider to answer on this channel: the contact gets no HELP text, and the
		// message is routed all the same.
		s.Log.Warn("HELP not answered", "client", c.ID, "message", in.ID, "error", err)
		return nil
	}
	_, err := s.queue(ctx, tx, d, func(string) (route, error) { return r, nil }, s.Clock().UTC())
	return err
}

// QueuePrepaid queues one message of a campaign inside the caller's transaction: the body is
// already rendered and its cost was reserved with the campaign, so nothing is charged here. The
// sender is chosen as for any send (sticky first). A recipient who opted out is ErrOptedOut;
// for a client that requires DLT, a body that matches none of its templates is ErrDLTMismatch.
func (s *Service) QueuePrepaid(ctx context.Context, tx *store.Tx, c model.Client, to, body string, costCents int64, campaignID string) (model.Message, error) {
	d := Draft{To: to, Body: body, Count: sms.Segments(body), Cost: costCents, Req: Request{Priority: model.PriorityBulk, DLTMatch: true},
		client: c, prepaid: true, campaignID: campaignID}
	if err := s.checkDLT(ctx, &d); err != nil {
		return model.Message{}, err
	}
	pick := func(last string) (route, error) {
		return s.chooseSender(ctx, c.ID, to, "", model.ChannelSMS, func(context.Context, string, string) (string, error) { return last, nil })
	}
	m, err := s.queue(ctx, tx, d, pick, s.Clock().UTC())
	if err == nil {
		provider := m.Provider
		tx.AfterCommit(func() { metrics.OutboundAccepted.WithLabelValues(provider).Inc() })
	}
	return m, err
}
