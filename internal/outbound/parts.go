package outbound

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

// Part places one part in a concatenated message a client submits (SMPP submit_sm with a
// user data header or SAR TLVs): the client's reference, how many parts, which this is.
type Part struct {
	Ref, Total, Seq int
}

// PartResult is what became of a part: the id the whole message has (every part is answered
// with it), and the message once the part completed it.
type PartResult struct {
	ID      string
	Message model.Message
	// Sent: this part completed the message, which was accepted (Message).
	Sent bool
}

// SendPart takes one part of a concatenated message. A part is held, committed, before it is
// answered; the part that completes the message (in whatever order they came) sends it whole,
// under Send's rules, with its parts dropped in the same transaction. A part held again
// changes nothing. When the whole message is refused (an opted-out recipient, no credits...)
// its parts are dropped too: the client has to submit it again, all its parts.
func (s *Service) SendPart(ctx context.Context, c model.Client, req Request, p Part) (PartResult, error) {
	if p.Total < 2 || p.Total > 255 || p.Seq < 1 || p.Seq > p.Total || p.Ref < 0 || p.Ref > 0xFFFF {
		return PartResult{}, &FieldError{Field: "part", Reason: fmt.Sprintf("part %d of %d (reference %d) is not a part of a concatenated message", p.Seq, p.Total, p.Ref)}
	}
	if flaw := text.Check(req.Body); flaw != text.OK {
		return PartResult{}, &FieldError{Field: "body", Reason: "body must be text: it holds " + flaw.String()}
	}
	if !c.Active {
		return PartResult{}, ErrClientInactive
	}
	now := s.Clock().UTC()
	held := store.SubmitPart{ClientID: c.ID, From: req.From, To: req.To, Ref: p.Ref, Total: p.Total, Seq: p.Seq,
		Body: req.Body, MessageID: model.NewIDAt(model.PrefixMessage, now), ReceivedAt: now}
	var (
		id    string
		parts []string
	)
	err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		id, parts, err = tx.AddSubmitPart(ctx, held)
		return err
	})
	if err != nil || parts == nil {
		return PartResult{ID: id}, err
	}
	req.Body, req.ID = strings.Join(parts, ""), id
	m, err := s.send(ctx, c, req, func(tx *store.Tx) error { return tx.DropSubmitParts(ctx, held) })
	if err != nil {
		if refused(err) { // for good: the client submits it again, whole
			if derr := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DropSubmitParts(ctx, held) }); derr != nil {
				s.Log.Warn("outbound: parts of a refused message not dropped", "client", c.ID, "message", id, "error", derr)
			}
		}
		// Otherwise (the database busy, a shutdown) the parts stay: the last part submitted
		// again completes the message.
		return PartResult{ID: id}, err
	}
	return PartResult{ID: id, Message: m, Sent: true}, nil
}

// PartsWait is how long the parts of a client's concatenated message wait for the rest.
const PartsWait = time.Hour

// DropStaleParts drops the parts of clients' concatenated messages whose other parts did not
// come within wait: the message was never sent nor charged (its parts' id names no message).
// It returns the messages dropped.
func (s *Service) DropStaleParts(ctx context.Context, wait time.Duration) ([]store.SubmitPart, error) {
	var dropped []store.SubmitPart
	err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		dropped, err = tx.DropStaleSubmitParts(ctx, s.Clock().Add(-wait), 1000)
		return err
	})
	return dropped, err
}

func (s *Service) dropStaleParts(ctx context.Context) {
	dropped, err := s.DropStaleParts(ctx, PartsWait)
	if err != nil && ctx.Err() == nil {
		s.Log.Warn("outbound: dropping incomplete concatenated messages", "error", err)
	}
	for _, p := range dropped {
		s.Log.Warn("outbound: a concatenated message whose parts never all came was dropped", "client", p.ClientID,
			"message", p.MessageID, "parts", p.Total)
	}
}

// refused reports whether a send was refused for good (its recipient, sender, text, the
// client's balance or state), as opposed to failing for the moment.
func refused(err error) bool {
	var (
		fe *FieldError
		ic *store.InsufficientCreditsError
	)
	if errors.As(err, &fe) || errors.As(err, &ic) {
		return true
	}
	for _, e := range []error{ErrOptedOut, ErrSenderNotAllowed, ErrSenderNotSupported, ErrClientInactive, ErrChannelNotSupported,
		ErrMediaNotSupported, ErrDLTRequired, ErrDLTUnknown, ErrDLTMismatch, ErrDLTSender} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
