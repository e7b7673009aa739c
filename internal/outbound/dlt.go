package outbound

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ibiki/ibiki/internal/dlt"
)

// Errors of a send held to DLT templates (India). The API answers them 422 naming the field.
var (
	// ErrDLTRequired: the client requires a DLT template for every send and none was named.
	ErrDLTRequired = errors.New("this client requires a DLT template for every send: name one in dlt_template_id")
	// ErrDLTUnknown: dlt_template_id names none of the client's templates.
	ErrDLTUnknown = errors.New("dlt_template_id names no DLT template of this client")
	// ErrDLTMismatch: the body is not the template's text with its placeholders filled (each
	// with at most 30 characters), or, when the template was to be found, matches none.
	ErrDLTMismatch = errors.New("the body does not match the DLT template")
	// ErrDLTSender: from is a header other than the one the template was approved for.
	ErrDLTSender = errors.New("from is not the sender header the DLT template was approved for")
)

// checkDLT holds a client's send to a DLT template: the one the request names, or, when the
// client requires DLT and the request names none, the first of its templates the body matches
// if the request allows an automatic match (Request.DLTMatch), else ErrDLTRequired. The
// template's ids go on the draft, and so on the message. A send that names no template, of a
// client that does not require DLT, costs nothing here: not even a cache read.
func (s *Service) checkDLT(ctx context.Context, d *Draft) error {
	id := d.Req.DLTTemplateID
	if id == "" && !d.client.DLTRequired {
		return nil
	}
	ts, err := s.Store.CachedDLTTemplates(ctx, d.client.ID)
	if err != nil {
		return err
	}
	header := senderHeader(d.From)
	if id == "" {
		if !d.Req.DLTMatch {
			return ErrDLTRequired
		}
		t, ok := dlt.Find(ts, d.Body, header)
		if !ok {
			return fmt.Errorf("%w: it matches none of the client's DLT templates", ErrDLTMismatch)
		}
		d.dltTemplateID, d.dltEntityID = t.TemplateID, t.EntityID
		return nil
	}
	for _, t := range ts {
		if t.TemplateID != id {
			continue
		}
		if !dlt.SenderMatches(t, header) {
			return fmt.Errorf("%w (%s)", ErrDLTSender, t.Sender)
		}
		if !dlt.Compile(t.Text).Match(d.Body) {
			return fmt.Errorf("%w %s: the body must be its text with each {#var#} replaced by at most %d characters", ErrDLTMismatch, id, dlt.MaxVarRunes)
		}
		d.dltTemplateID, d.dltEntityID = t.TemplateID, t.EntityID
		return nil
	}
	return fmt.Errorf("%w: %s", ErrDLTUnknown, id)
}

// senderHeader is the sender header a from names: an alphanumeric sender ("ACMEIN"), compared
// with the template's; a number ("+91…") names no header and is not compared (the provider
// puts the header the template says).
func senderHeader(from string) string {
	if from == "" || strings.HasPrefix(from, "+") || strings.Contains(from, ":") {
		return ""
	}
	return from
}

// OwnReplyDLT passes one of Ibiki's own replies (an auto-reply, the HELP answer, a service's
// answer: every message Ibiki writes for a client rather than the client itself) through the
// client's DLT rule: a client that does not require DLT sends it as it is; one that does
// sends it only when its text matches one of the client's templates (dlt.Find; the first that
// matches gives its ids to the message). ok false is "do not send it", and the reason is
// logged as a warning: an own reply that no template covers would be blocked by the
// operators' scrubbing, and charged. what names the reply in the log ("auto-reply", "HELP").
func (s *Service) OwnReplyDLT(ctx context.Context, d *Draft, what string) (ok bool, err error) {
	if !d.client.DLTRequired {
		return true, nil
	}
	ts, err := s.Store.CachedDLTTemplates(ctx, d.client.ID)
	if err != nil {
		return false, err
	}
	t, found := dlt.Find(ts, d.Body, "")
	if !found {
		s.Log.Warn(what+" not sent: the client requires DLT and its text matches none of its templates", "client", d.client.ID)
		return false, nil
	}
	d.dltTemplateID, d.dltEntityID = t.TemplateID, t.EntityID
	return true, nil
}
