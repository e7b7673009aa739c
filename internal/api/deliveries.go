package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/webhook"
)

type attemptOut struct {
	ID         string  `json:"id"`
	At         string  `json:"attempted_at"`
	URL        string  `json:"url"`
	StatusCode *int    `json:"status_code"`
	LatencyMS  int64   `json:"latency_ms"`
	Error      *string `json:"error"`
	Response   string  `json:"response"`
}

type deliveryOut struct {
	ID             string          `json:"id"`
	ClientID       string          `json:"client_id"`
	Type           model.EventType `json:"type"`
	Status         string          `json:"status"`
	MessageID      *string         `json:"message_id"`
	ConversationID *string         `json:"conversation_id"`
	Attempts       int             `json:"attempt_count"`
	LastStatusCode *int            `json:"last_status_code"`
	LastError      *string         `json:"last_error"`
	NextAttemptAt  *string         `json:"next_attempt_at"`
	CreatedAt      string          `json:"created_at"`
	CompletedAt    *string         `json:"completed_at"`
	AttemptLog     []attemptOut    `json:"attempts"`
	// Format is standard (Payload is the JSON event) or twilio (Form is the form posted).
	Format model.DeliveryFormat `json:"format"`
	// TargetURL is where it goes when not to the client's webhook URL (a status callback).
	TargetURL *string         `json:"target_url"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	Form      *string         `json:"form,omitempty"`
}

func deliveryJSON(d model.Delivery, attempts []model.Attempt) deliveryOut {
	out := deliveryOut{ID: d.ID, ClientID: d.ClientID, Type: d.Type, Status: string(d.Status),
		MessageID: orNil(d.MessageID), ConversationID: orNil(d.ConversationID), Attempts: d.Attempts,
		LastError: orNil(d.LastError), NextAttemptAt: timeOrNil(d.NextAttemptAt), CreatedAt: formatTime(d.CreatedAt),
		CompletedAt: timeOrNil(d.CompletedAt), AttemptLog: make([]attemptOut, len(attempts)),
		Format: cmp.Or(d.Format, model.DeliveryStandard), TargetURL: orNil(d.URL)}
	if d.LastStatusCode != 0 {
		out.LastStatusCode = &d.LastStatusCode
	}
	for i, a := range attempts {
		out.AttemptLog[i] = attemptOut{ID: a.ID, At: formatTime(a.At), URL: a.URL, LatencyMS: a.Latency.Milliseconds(),
			Error: orNil(a.Error), Response: a.Response}
		if a.StatusCode != 0 {
			out.AttemptLog[i].StatusCode = &attempts[i].StatusCode
		}
	}
	return out
}

func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deliveryStatus reads ?status=.
func deliveryStatus(r *http.Request) (model.DeliveryStatus, error) {
	s := model.DeliveryStatus(r.URL.Query().Get("status"))
	switch s {
	case "", model.DeliveryPending, model.DeliverySucceeded, model.DeliveryFailed:
		return s, nil
	}
	return "", respond.Invalid("status", "status must be pending, succeeded or failed")
}

// writeDeliveries answers a page of deliveries with their attempts.
func (a *API) writeDeliveries(w http.ResponseWriter, r *http.Request, ds []model.Delivery, limit int) {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	attempts, err := a.Store.Attempts(r.Context(), ids...)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]deliveryOut, len(ds))
	last := ""
	for i, d := range ds {
		out[i], last = deliveryJSON(d, attempts[d.ID]), d.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(ds), limit, last)})
}

func (a *API) writeDelivery(w http.ResponseWriter, r *http.Request, d model.Delivery) {
	attempts, err := a.Store.Attempts(r.Context(), d.ID)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := deliveryJSON(d, attempts[d.ID])
	if d.Format == model.DeliveryTwilio {
		form := string(d.Payload) // a form, not JSON
		out.Form = &form
	} else {
		out.Payload = d.Payload
	}
	respond.JSON(w, http.StatusOK, out)
}

// listDeliveries is the client's delivery log: GET /api/v1/webhook/deliveries.
func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	status, err2 := deliveryStatus(r)
	if err = cmp.Or(err, err2); err != nil {
		respond.Err(w, r, err)
		return
	}
	ds, err := a.Store.Deliveries(r.Context(), clientID(r.Context()), status, cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	a.writeDeliveries(w, r, ds, limit)
}

func (a *API) getDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := a.Store.Delivery(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	a.writeDelivery(w, r, d)
}

// listAllDeliveries is the operator's view: GET /admin/v1/deliveries?status=failed&client_id=.
func (a *API) listAllDeliveries(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	status, err2 := deliveryStatus(r)
	if err = cmp.Or(err, err2); err != nil {
		respond.Err(w, r, err)
		return
	}
	ds, err := a.Store.AllDeliveries(r.Context(), r.URL.Query().Get("client_id"), status, cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	a.writeDeliveries(w, r, ds, limit)
}

func (a *API) getAnyDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := a.Store.DeliveryByID(r.Context(), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	a.writeDelivery(w, r, d)
}

// replayDelivery sends a finished delivery again: POST /admin/v1/deliveries/{id}/replay.
func (a *API) replayDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := webhook.Replay(r.Context(), a.Store, r.PathValue("id"), a.now())
	if errors.Is(err, webhook.ErrDeliveryPending) {
		err = &respond.Error{Status: http.StatusConflict, Code: "delivery_pending", Message: "this delivery is still being attempted"}
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, deliveryJSON(d, nil))
}
