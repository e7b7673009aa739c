package smsc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
)

// submit takes a submit_sm: the same path as POST /api/v1/messages (outbound.Send, or
// outbound.SendPart for one part of a concatenated message), answered with Ibiki's message id
// only once the message (or the part) is committed.
func (c *conn) submit(ctx context.Context, b *bind, sm *pdu.SM) (pdu.Status, pdu.Body) {
	id, st := c.accept(ctx, b, sm, sm.Dest)
	metrics.SMPPServerPDUs.WithLabelValues("submit_sm", st.String()).Inc()
	if st != pdu.StatusOK {
		return st, nil
	}
	return pdu.StatusOK, &pdu.SMResp{ID: pdu.SubmitSMResp, MessageID: id}
}

// submitMulti takes a submit_multi as one message to each SME destination (each its own
// message, its receipt naming its own id); the response carries the first accepted message's
// id and lists the destinations refused. Distribution lists are not kept: they are refused.
func (c *conn) submitMulti(ctx context.Context, b *bind, m *pdu.Multi) (pdu.Status, pdu.Body) {
	resp := &pdu.MultiResp{}
	for _, d := range m.Dests {
		st := pdu.StatusInvalidDLName
		var id string
		if d.Flag == pdu.DestSME {
			id, st = c.accept(ctx, b, &m.Message, d.Addr)
		}
		if st != pdu.StatusOK {
			resp.Unsuccess = append(resp.Unsuccess, pdu.Unsuccess{Addr: d.Addr, Status: st})
		} else if resp.MessageID == "" {
			resp.MessageID = id
		}
	}
	st := pdu.StatusOK
	if resp.MessageID == "" && len(resp.Unsuccess) > 0 {
		st = resp.Unsuccess[0].Status // none taken: the first destination's refusal
	}
	metrics.SMPPServerPDUs.WithLabelValues("submit_multi", st.String()).Inc()
	if st != pdu.StatusOK {
		return st, nil
	}
	return pdu.StatusOK, resp
}

// accept sends one message of sm to dest and says how to answer.
func (c *conn) accept(ctx context.Context, b *bind, sm *pdu.SM, dest pdu.Address) (string, pdu.Status) {
	srv := c.srv
	if lim := srv.limit(b.client); lim != nil && !lim.Allow() {
		return "", pdu.StatusThrottled
	}
	client, err := srv.Store.CachedClient(ctx, b.client)
	if err != nil {
		srv.Log.Warn("smpp server: client not read", "client", b.client, "error", err)
		return "", pdu.StatusTempAppError
	}
	ct, err := sm.Content()
	switch {
	case errors.Is(err, pdu.ErrNotText):
		return "", pdu.StatusSubmitFailed
	case err != nil:
		return "", pdu.StatusInvalidESMClass
	}
	now := srv.Clock()
	req := outbound.Request{To: pdu.Number(dest, srv.Region), From: pdu.Number(sm.Source, srv.Region), Body: ct.Text}
	switch sm.RegisteredDelivery & 0x03 {
	case 1:
		req.Receipt = model.SMPPReceiptAll
	case 2:
		req.Receipt = model.SMPPReceiptFailure
	}
	if req.SendAt, err = pdu.ParseTime(sm.ScheduleDeliveryTime, now); err != nil {
		return "", pdu.StatusInvalidSchedule
	}
	if !req.SendAt.IsZero() && req.SendAt.Sub(now) < outbound.MinSchedule {
		req.SendAt = time.Time{} // due already (or too soon to schedule): sent now
	}
	expiry, err := pdu.ParseTime(sm.ValidityPeriod, now)
	if err != nil {
		return "", pdu.StatusInvalidExpiry
	}
	if !expiry.IsZero() {
		start := now
		if !req.SendAt.IsZero() {
			start = req.SendAt
		}
		if req.ValidFor = expiry.Sub(start).Round(time.Second); req.ValidFor < time.Second {
			return "", pdu.StatusInvalidExpiry
		}
		req.ValidFor = min(req.ValidFor, outbound.MaxValidFor)
	}
	var id string
	if ct.Concatenated {
		var r outbound.PartResult
		r, err = srv.Outbound.SendPart(ctx, client, req, outbound.Part{Ref: int(ct.Part.Ref), Total: int(ct.Part.Total), Seq: int(ct.Part.Seq)})
		id = r.ID
	} else {
		var m model.Message
		m, err = srv.Outbound.Send(ctx, client, req)
		id = m.ID
	}
	if err != nil {
		st := statusOf(err)
		srv.Log.Debug("smpp server: submit refused", "client", b.client, "status", st, "error", err)
		return "", st
	}
	return id, pdu.StatusOK
}

// statusOf maps a refused send to the command_status a client reads (docs/smpp.md): the same
// catalogue as the API's errors.
func statusOf(err error) pdu.Status {
	e := respond.Map(err)
	switch e.Param {
	case "to":
		return pdu.StatusInvalidDestAddr
	case "from":
		return pdu.StatusInvalidSourceAddr
	case "registered_delivery":
		return pdu.StatusInvalidRegDelivery
	case "send_at":
		return pdu.StatusInvalidSchedule
	case "validity_period":
		return pdu.StatusInvalidExpiry
	}
	switch {
	case e.Code == "recipient_opted_out":
		return pdu.StatusRejectAppError
	case e.Status == http.StatusServiceUnavailable:
		return pdu.StatusTempAppError
	case e.Status >= 500:
		return pdu.StatusSystemError
	}
	return pdu.StatusSubmitFailed
}
