// Package smpp is the upstream SMPP connector: a provider of type "smpp" that keeps binds to
// an SMSC (transceiver, with reconnects and keep-alives), sends messages as submit_sm (its own
// segmentation: GSM-7 or UCS-2, concatenated by UDH or SAR TLVs) through a window per bind, and
// turns the SMSC's delivery receipts into status reports and its mobile-originated messages
// into inbound messages (concatenated ones reassembled), each committed before the SMSC hears
// it was taken.
package smpp

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/session"
	"github.com/ibiki/ibiki/internal/sms"
)

// Config is one connector's configuration (see entryFields for the providers file's names).
type Config struct {
	Name                           string
	Address                        string
	SystemID, Password, SystemType string
	Binds, Window                  int
	EnquireLink, Timeout           time.Duration
	Reconnect, MaxReconnect        time.Duration
	Rate                           float64
	SourceTON, SourceNPI           byte
	DestTON, DestNPI               byte
	Plus                           bool // keep the + of E.164 numbers in addresses
	GSMDataCoding                  byte
	SAR                            bool // concatenate with SAR TLVs rather than a UDH
	RegisteredDelivery             bool
	SubmitIDForm, ReceiptIDForm    pdu.IDForm
	Region                         string // reads numbers without a country code (IBIKI_DEFAULT_REGION)
	// RepeatWindow: a mobile-originated message the SMSC delivers again within it (the same
	// phone, number, text and part) is stored once (0: every deliver_sm is a new message).
	RepeatWindow time.Duration
	Status       provider.StatusSink
	Inbound      provider.InboundSink
	Log          *slog.Logger
}

// Connector is an SMPP provider.
type Connector struct {
	cfg Config
	ref atomic.Uint32 // concatenation references

	mu     sync.Mutex
	live   []*session.Session // the bound sessions, by bind
	next   int
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a connector; its binds start with Start.
func New(cfg Config) *Connector {
	if cfg.Binds <= 0 {
		cfg.Binds = 1
	}
	if cfg.Window <= 0 {
		cfg.Window = 10
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Reconnect <= 0 {
		cfg.Reconnect = time.Second
	}
	if cfg.MaxReconnect <= 0 {
		cfg.MaxReconnect = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Connector{cfg: cfg, live: make([]*session.Session, cfg.Binds)}
	c.ref.Store(rand.Uint32())
	return c
}

// Supports implements provider.Declarer: it sends, and Close unbinds.
func (c *Connector) Supports() provider.Features { return provider.FeatureSend | provider.FeatureClose }

// Capabilities implements provider.Sender: Ibiki names the sender; an SMSC does not recognise a
// repeated submit_sm, so an attempt is recorded before it is made.
func (c *Connector) Capabilities() provider.Capabilities {
	return provider.Capabilities{ChooseSender: true, MaxPerSecond: c.cfg.Rate}
}

// Start opens the binds; each reconnects with back-off until Close.
func (c *Connector) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		return
	}
	ctx, c.cancel = context.WithCancel(ctx)
	for i := range c.cfg.Binds {
		c.wg.Add(1)
		go c.keepBound(ctx, i)
	}
}

// Close unbinds cleanly and stops reconnecting.
func (c *Connector) Close() error {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
	return nil
}

// Bound is how many binds are up.
func (c *Connector) Bound() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.boundLocked()
}

// boundLocked counts the binds up; c.mu is held.
func (c *Connector) boundLocked() int {
	n := 0
	for _, s := range c.live {
		if s != nil {
			n++
		}
	}
	return n
}

// keepBound keeps bind i up: connect, bind_transceiver, serve until the session ends, then wait
// (doubling from Reconnect to MaxReconnect, with jitter) and again.
func (c *Connector) keepBound(ctx context.Context, i int) {
	defer c.wg.Done()
	wait := c.cfg.Reconnect
	for ctx.Err() == nil {
		s, err := c.bind(ctx)
		if err == nil {
			wait = c.cfg.Reconnect
			c.setLive(i, s)
			c.cfg.Log.Info("smpp: bound", "provider", c.cfg.Name, "bind", i, "address", c.cfg.Address)
			select {
			case <-s.Done():
				c.setLive(i, nil)
				c.cfg.Log.Warn("smpp: bind lost; reconnecting", "provider", c.cfg.Name, "bind", i, "error", s.Err())
			case <-ctx.Done():
				c.setLive(i, nil)
				uctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
				_ = s.Unbind(uctx)
				cancel()
				return
			}
		} else if ctx.Err() == nil {
			c.cfg.Log.Warn("smpp: bind failed", "provider", c.cfg.Name, "bind", i, "address", c.cfg.Address, "error", err, "retry_in", wait)
		}
		jitter := time.Duration(rand.Int64N(int64(wait)/4 + 1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait + jitter):
		}
		wait = min(2*wait, c.cfg.MaxReconnect)
	}
}

func (c *Connector) bind(ctx context.Context) (*session.Session, error) {
	d := net.Dialer{Timeout: c.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Address)
	if err != nil {
		return nil, err
	}
	// Receipts are recorded several at a time (window's worth), so that a burst of them is not
	// answered ESME_RX_T_APPN for a full queue; mobile-originated messages keep their order
	// (one at a time, as they came).
	s := session.New(conn, session.Options{Window: c.cfg.Window, Timeout: c.cfg.Timeout, EnquireLink: c.cfg.EnquireLink,
		Handle: c.handle, Handlers: c.cfg.Window, Queue: 1024, Ordered: isMO, Log: c.cfg.Log})
	bctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if _, err := s.Bind(bctx, &pdu.Bind{ID: pdu.BindTransceiver, SystemID: c.cfg.SystemID, Password: c.cfg.Password,
		SystemType: c.cfg.SystemType, InterfaceVersion: 0x34}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (c *Connector) setLive(i int, s *session.Session) {
	c.mu.Lock()
	c.live[i] = s
	n := c.boundLocked()
	c.mu.Unlock()
	metrics.SMPPBinds.WithLabelValues(c.cfg.Name).Set(float64(n))
}

// pick returns a bound session, round robin (nil when none is up).
func (c *Connector) pick() *session.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range c.live {
		s := c.live[c.next%len(c.live)]
		c.next++
		if s != nil {
			select {
			case <-s.Done():
			default:
				return s
			}
		}
	}
	return nil
}

// Send implements provider.Sender: the body split as sms.Split counts it, each part a submit_sm
// on one bind (UDH or SAR), a receipt asked for the last part only, whose message id is the
// message's. A refusal of the first part is the SMSC's answer (temporary or permanent, see
// refusal); once a part was taken, a later refusal or a missing response leaves the message in
// doubt (a plain error), since sending it again would repeat the parts already out.
func (c *Connector) Send(ctx context.Context, m provider.Outbound) (provider.SendResult, error) {
	s := c.pick()
	if s == nil {
		return provider.SendResult{}, &provider.SendError{Code: "no_bind", Message: "no bind to the SMSC is up", RetryAfter: 2 * time.Second}
	}
	count, parts := sms.Split(m.Body)
	if len(parts) == 0 {
		parts = []string{""}
	}
	if len(parts) > 255 {
		return provider.SendResult{}, &provider.SendError{Permanent: true, Code: "too_long", Message: fmt.Sprintf("%d parts", len(parts))}
	}
	dc := c.cfg.GSMDataCoding
	if count.Encoding == sms.UCS2 {
		dc = 8
	}
	ref := uint16(c.ref.Add(1))
	var id string
	for i, text := range parts {
		payload, err := c.encode(text, count.Encoding)
		if err != nil {
			return provider.SendResult{}, &provider.SendError{Permanent: true, Code: "encoding", Message: err.Error()}
		}
		sm := &pdu.SM{ID: pdu.SubmitSM, Source: c.source(m.From), Dest: c.dest(m.To), DataCoding: dc}
		if c.cfg.RegisteredDelivery && i == len(parts)-1 {
			sm.RegisteredDelivery = 1
		}
		if len(parts) > 1 {
			p := pdu.Part{Ref: ref, Total: byte(len(parts)), Seq: byte(i + 1)}
			if c.cfg.SAR {
				sm.TLVs = pdu.SARTLVs(p)
			} else {
				sm.ESMClass |= pdu.ESMClassUDHI
				p.Ref &= 0xFF
				payload = append(pdu.UDH(p), payload...)
			}
		}
		sm.ShortMessage = payload
		resp, err := c.submit(ctx, s, sm, i > 0)
		switch {
		case errors.Is(err, session.ErrUnencodable) && i == 0:
			return provider.SendResult{}, &provider.SendError{Permanent: true, Code: "unencodable", Message: err.Error()}
		case err != nil && i == 0 && errors.Is(err, session.ErrNotSent):
			// The bind went down (or the send was stopped) before the first part left:
			// nothing reached the SMSC.
			return provider.SendResult{}, &provider.SendError{Code: "no_bind", Message: err.Error(), RetryAfter: time.Second}
		case err != nil:
			// Written and not answered (a timeout, a broken link), or a later part not sent
			// after earlier ones went: the SMSC may have the message, whole or in part.
			return provider.SendResult{}, fmt.Errorf("smpp: submit_sm %d of %d of %s: %w", i+1, len(parts), m.MessageID, err)
		case resp.Status != pdu.StatusOK && i == 0:
			return provider.SendResult{}, refusal(resp.Status)
		case resp.Status != pdu.StatusOK:
			return provider.SendResult{}, fmt.Errorf("smpp: part %d of %d of %s refused (%s) after the first was taken",
				i+1, len(parts), m.MessageID, resp.Status)
		}
		r, _ := resp.Body.(*pdu.SMResp)
		if r == nil || r.MessageID == "" {
			return provider.SendResult{}, fmt.Errorf("smpp: submit_sm_resp without a message id for %s", m.MessageID)
		}
		if id, err = pdu.CanonicalID(r.MessageID, c.cfg.SubmitIDForm); err != nil {
			// The SMSC took it: sent, under the id as given (its receipts will not match
			// until submit_id names the form the SMSC really uses).
			c.cfg.Log.Warn("smpp: submit_sm_resp id not of the configured form", "provider", c.cfg.Name, "error", err)
			id = r.MessageID
		}
	}
	return provider.SendResult{ProviderMessageID: id, Status: model.StatusSent}, nil
}

// submit sends one submit_sm. A later part of a message the SMSC throttles (ESME_RTHROTTLED,
// ESME_RMSGQFUL) is sent again after a pause, a few times: it was refused, so it is no
// duplicate, and giving up would leave the message cut in two.
func (c *Connector) submit(ctx context.Context, s *session.Session, sm *pdu.SM, later bool) (pdu.PDU, error) {
	wait := 200 * time.Millisecond
	for try := 0; ; try++ {
		resp, err := s.Request(ctx, sm)
		outcome := resp.Status.String()
		if err != nil {
			outcome = "unanswered"
		}
		metrics.SMPPSubmits.WithLabelValues(c.cfg.Name, outcome).Inc()
		throttled := err == nil && (resp.Status == pdu.StatusThrottled || resp.Status == pdu.StatusQueueFull)
		if !later || !throttled || try == 5 {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return resp, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (c *Connector) encode(text string, enc sms.Encoding) ([]byte, error) {
	if enc == sms.UCS2 {
		return sms.EncodeUCS2(text), nil
	}
	return sms.EncodeGSM7(text)
}

// source is the submit_sm's source address: an E.164 number as configured, an alphanumeric
// sender as TON 5, a short code as the network's own (TON 3).
func (c *Connector) source(from string) pdu.Address {
	return pdu.AddressOf(from, c.cfg.SourceTON, c.cfg.SourceNPI, c.cfg.Plus)
}

func (c *Connector) dest(to string) pdu.Address {
	return pdu.Address{TON: c.cfg.DestTON, NPI: c.cfg.DestNPI, Addr: c.number(to)}
}

func (c *Connector) number(n string) string {
	if c.cfg.Plus {
		return n
	}
	return strings.TrimPrefix(n, "+")
}

// refusal maps a submit_sm_resp refusal to a send outcome: throttling, a full queue and the
// SMSC's own trouble are retried later; errors of the message itself fail it (refunded).
func refusal(st pdu.Status) error {
	e := &provider.SendError{Code: st.String(), Message: "the SMSC refused the submit_sm"}
	switch st {
	case pdu.StatusThrottled, pdu.StatusQueueFull:
		e.RetryAfter = time.Second
	case pdu.StatusSystemError, pdu.StatusTempAppError, pdu.StatusInvalidBindStatus, pdu.StatusUnknownError,
		pdu.StatusDeliveryFailure:
	case pdu.StatusInvalidDestAddr, pdu.StatusInvalidSourceAddr, pdu.StatusInvalidMsgLen, pdu.StatusInvalidDestTON,
		pdu.StatusInvalidDestNPI, pdu.StatusInvalidSourceTON, pdu.StatusInvalidSourceNPI, pdu.StatusPermAppError,
		pdu.StatusRejectAppError, pdu.StatusInvalidESMClass, pdu.StatusSubmitFailed, pdu.StatusInvalidServiceType,
		pdu.StatusInvalidTLVLength, pdu.StatusInvalidTLVValue, pdu.StatusInvalidTLVStream, pdu.StatusTLVNotAllowed,
		pdu.StatusMissingTLV, pdu.StatusInvalidDefaultMsgID, pdu.StatusInvalidExpiry, pdu.StatusInvalidSchedule,
		pdu.StatusInvalidPriority, pdu.StatusInvalidRegDelivery:
		e.Permanent = true
	}
	return e
}

// handle answers the SMSC's requests: receipts become status reports (answered once they are
// recorded; a failure answers ESME_RX_T_APPN so that the SMSC sends the receipt again).
func (c *Connector) handle(ctx context.Context, _ *session.Session, p pdu.PDU) (pdu.Status, pdu.Body) {
	sm, ok := p.Body.(*pdu.SM)
	if !ok || p.ID != pdu.DeliverSM {
		return pdu.StatusInvalidCmdID, nil
	}
	if !sm.IsReceipt() {
		return c.mobileOriginated(ctx, sm), nil
	}
	r, err := pdu.ParseReceipt(sm)
	metrics.SMPPReceipts.WithLabelValues(c.cfg.Name, receiptLabel(r)).Inc()
	if err != nil {
		c.cfg.Log.Warn("smpp: receipt not understood; acknowledged and dropped", "provider", c.cfg.Name, "error", err)
		return pdu.StatusOK, nil
	}
	id, err := pdu.CanonicalID(r.ID, c.cfg.ReceiptIDForm)
	if err != nil {
		c.cfg.Log.Warn("smpp: receipt for an id not of the configured form; acknowledged and dropped", "provider", c.cfg.Name, "error", err)
		return pdu.StatusOK, nil
	}
	u := provider.StatusUpdate{ProviderMessageID: id, Status: statusOf(r.State)}
	if u.Status != model.StatusDelivered && u.Status != model.StatusSent {
		u.ErrorCode, u.ErrorMessage = r.Stat, "the SMSC reported "+r.Stat
		if r.Err != "" && strings.Trim(r.Err, "0") != "" {
			u.ErrorCode = r.Stat + ":" + r.Err
		}
	}
	if c.cfg.Status == nil || u.Status == model.StatusSent {
		return pdu.StatusOK, nil
	}
	if err := c.cfg.Status.ApplyStatus(ctx, c.cfg.Name, []provider.StatusUpdate{u}); err != nil {
		c.cfg.Log.Warn("smpp: receipt not recorded; the SMSC will send it again", "provider", c.cfg.Name, "error", err)
		return pdu.StatusTempAppError, nil
	}
	return pdu.StatusOK, nil
}

// isMO picks the SMSC's requests that are a contact's messages (not receipts).
func isMO(p pdu.PDU) bool {
	sm, ok := p.Body.(*pdu.SM)
	return ok && p.ID == pdu.DeliverSM && !sm.IsReceipt()
}

// statusOf maps a receipt's message state to a message status.
func statusOf(state byte) model.MessageStatus {
	switch state {
	case pdu.StateDelivered:
		return model.StatusDelivered
	case pdu.StateUndeliverable, pdu.StateExpired:
		return model.StatusUndelivered
	case pdu.StateRejected, pdu.StateDeleted:
		return model.StatusFailed
	case pdu.StateEnroute, pdu.StateAccepted:
		return model.StatusSent
	}
	return model.StatusUnknown
}

// receiptLabel is a receipt's stat as a metric label: one of the standard words, "other".
func receiptLabel(r pdu.Receipt) string {
	if r.State == 0 {
		return "other"
	}
	return pdu.StatOf(r.State)
}

// repeatKey names what a mobile-originated deliver_sm says, the same when the SMSC delivers it
// again (SMPP gives it no id): the phone, the number, the text, the part it is, and the
// user_message_reference when the SMSC passes one (the handset's message reference, which tells
// a contact's second identical message from the first).
func repeatKey(in provider.Inbound, sm *pdu.SM, ct pdu.Content) string {
	h := sha256.New()
	ref, _ := sm.TLVs.Get(pdu.TagUserMessageRef)
	for _, f := range []string{in.From, in.To, in.Body, string(ref)} {
		h.Write(binary.AppendUvarint(nil, uint64(len(f))))
		h.Write([]byte(f))
	}
	if ct.Concatenated {
		h.Write([]byte{byte(ct.Part.Ref >> 8), byte(ct.Part.Ref), ct.Part.Total, ct.Part.Seq})
	}
	return "smo:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// mobileOriginated stores a contact's message the SMSC delivered (a part of one held until its
// last part arrives) and says how to answer: ESME_ROK once committed; ESME_RX_T_APPN when it
// could not be stored now (the SMSC delivers it again); ESME_RX_P_APPN for a message Ibiki will
// never take (binary data, a broken header, a field that is not text), logged.
func (c *Connector) mobileOriginated(ctx context.Context, sm *pdu.SM) pdu.Status {
	refuse := func(why string, err error) pdu.Status {
		c.cfg.Log.Warn("smpp: mobile-originated message refused for good", "provider", c.cfg.Name, "from", sm.Source.Addr,
			"to", sm.Dest.Addr, "why", why, "error", err)
		return pdu.StatusPermAppError
	}
	if c.cfg.Inbound == nil {
		return pdu.StatusTempAppError
	}
	ct, err := sm.Content()
	switch {
	case errors.Is(err, pdu.ErrNotText):
		return refuse("not text", err)
	case err != nil:
		return refuse("concatenation", err)
	}
	in := provider.Inbound{Provider: c.cfg.Name, ProviderMessageID: model.NewID("smo"), From: pdu.Number(sm.Source, c.cfg.Region),
		To: pdu.Number(sm.Dest, c.cfg.Region), Body: ct.Text, Channel: model.ChannelSMS, Status: model.StatusReceived}
	if c.cfg.RepeatWindow > 0 {
		in.ProviderMessageID, in.RepeatWindow = repeatKey(in, sm, ct), c.cfg.RepeatWindow
	}
	if ct.Concatenated {
		err = c.cfg.Inbound.AcceptInboundPart(ctx, in, int(ct.Part.Ref), int(ct.Part.Total), int(ct.Part.Seq))
	} else {
		err = c.cfg.Inbound.AcceptInbound(ctx, in)
	}
	var fe *provider.FieldError
	switch {
	case errors.As(err, &fe):
		return refuse("not storable", err)
	case err != nil:
		c.cfg.Log.Warn("smpp: mobile-originated message not stored; the SMSC will deliver it again", "provider", c.cfg.Name, "error", err)
		return pdu.StatusTempAppError
	}
	return pdu.StatusOK
}
