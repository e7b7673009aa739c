package smsc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/webhook"
)

// maxShortMessage is the most short_message holds; a longer text travels in message_payload.
const maxShortMessage = 254

// DeliverSM sends an event to a client as deliver_sm over one of its receiver binds (in turn):
// an inbound message as a mobile-originated deliver_sm, a final status as a delivery receipt
// (the standard text, and the receipted_message_id and message_state TLVs). It implements
// webhook.SMPPSender.
func (srv *Server) DeliverSM(ctx context.Context, clientID string, typ model.EventType, m webhook.MessageData, deliveryID string) error {
	var (
		sm   *pdu.SM
		kind string
	)
	switch typ {
	case model.EventMessageReceived:
		sm, kind = mobileOriginated(m), "mo"
	case model.EventMessageStatus:
		sm, kind = receipt(m), "receipt"
	default:
		return fmt.Errorf("smpp server: %s events do not travel as deliver_sm", typ)
	}
	b := srv.receiver(clientID)
	if b == nil {
		return webhook.ErrNoBind
	}
	p, err := b.s.Request(ctx, sm)
	if err != nil {
		metrics.SMPPServerPDUs.WithLabelValues("deliver_sm_"+kind, "unanswered").Inc()
		return fmt.Errorf("smpp server: deliver_sm %s to %s: %w", deliveryID, clientID, err)
	}
	metrics.SMPPServerPDUs.WithLabelValues("deliver_sm_"+kind, p.Status.String()).Inc()
	if p.Status != pdu.StatusOK {
		return fmt.Errorf("smpp server: the client answered deliver_sm %s with %s", deliveryID, p.Status)
	}
	return nil
}

// receiver picks one of the client's binds that receive, in turn; nil when none is up.
func (srv *Server) receiver(clientID string) *bind {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var rx []*bind
	for _, b := range srv.binds[clientID] {
		if b.receives() && b.s.Err() == nil {
			rx = append(rx, b)
		}
	}
	if len(rx) == 0 {
		return nil
	}
	return rx[srv.next.Add(1)%uint64(len(rx))]
}

// mobileOriginated is the deliver_sm of an inbound message: from the contact, to the number it
// wrote to.
func mobileOriginated(m webhook.MessageData) *pdu.SM {
	sm := &pdu.SM{ID: pdu.DeliverSM, Source: address(m.From), Dest: address(m.To)}
	var text []byte
	sm.DataCoding, text = pdu.EncodeText(m.Body, 0)
	if len(text) > maxShortMessage {
		sm.TLVs = pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: text}}
	} else {
		sm.ShortMessage = text
	}
	return sm
}

// receipt is the delivery receipt of an outbound message: from the recipient, to the sender.
func receipt(m webhook.MessageData) *pdu.SM {
	r := pdu.Receipt{ID: m.ID, Submitted: 1, State: stateOf(m.Status), Text: m.Body}
	if m.Status == model.StatusDelivered {
		r.Delivered = 1
	}
	r.SubmitDate, _ = time.Parse(webhook.TimeFormat, m.ReceivedAt)
	if m.OutboundData != nil {
		r.DoneDate, _ = time.Parse(webhook.TimeFormat, m.StatusAt)
		if m.ErrorCode != nil {
			r.Err = receiptErr(*m.ErrorCode)
		}
	}
	if r.DoneDate.IsZero() {
		r.DoneDate = r.SubmitDate
	}
	text := r.Format()
	if b, err := sms.EncodeGSM7(text); err == nil {
		return &pdu.SM{ID: pdu.DeliverSM, Source: address(m.To), Dest: address(m.From), ESMClass: pdu.ESMClassReceipt,
			ShortMessage: b, TLVs: receiptTLVs(m.ID, r.State)}
	}
	// The text: part holds a character GSM-7 has not: it is written with letters, digits and
	// spaces only, the rest as "?".
	r.Text = strings.Map(func(c rune) rune {
		if c == ' ' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			return c
		}
		return '?'
	}, r.Text)
	b, _ := sms.EncodeGSM7(r.Format())
	return &pdu.SM{ID: pdu.DeliverSM, Source: address(m.To), Dest: address(m.From), ESMClass: pdu.ESMClassReceipt,
		ShortMessage: b, TLVs: receiptTLVs(m.ID, r.State)}
}

func receiptTLVs(id string, state byte) pdu.TLVs {
	return pdu.TLVs{pdu.CStringTLV(pdu.TagReceiptedMessageID, id), pdu.Uint8TLV(pdu.TagMessageState, state)}
}

// stateOf is the SMPP message_state of a final status.
func stateOf(s model.MessageStatus) byte {
	switch s {
	case model.StatusDelivered:
		return pdu.StateDelivered
	case model.StatusUndelivered:
		return pdu.StateUndeliverable
	case model.StatusFailed:
		return pdu.StateRejected
	case model.StatusCanceled:
		return pdu.StateDeleted
	}
	return pdu.StateUnknown
}

// receiptErr is a receipt's err: field: three characters of the provider's error code, digits
// when it has them ("000" for none).
func receiptErr(code string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, code)
	if digits == "" {
		return "000"
	}
	if len(digits) > 3 {
		return digits[len(digits)-3:]
	}
	return strings.Repeat("0", 3-len(digits)) + digits
}

// address is how a number goes out in a deliver_sm: E.164 as international (TON 1, NPI 1)
// without its +, a short code as the network's own (TON 3), an alphanumeric sender as TON 5.
func address(n string) pdu.Address {
	return pdu.AddressOf(n, pdu.TONInternational, pdu.NPIISDN, false)
}
