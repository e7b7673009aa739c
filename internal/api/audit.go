package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/audit"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
)

// auditActions names the changes made through the admin API in the audit log, by route.
var auditActions = map[string]string{
	"POST /admin/v1/clients":                             "client.create",
	"PATCH /admin/v1/clients/{id}":                       "client.update",
	"POST /admin/v1/clients/{id}/rotate-key":             "client.rotate_key",
	"POST /admin/v1/clients/{id}/twilio-credentials":     "client.twilio_credentials",
	"POST /admin/v1/clients/{id}/smpp-password":          "client.smpp_password",
	"POST /admin/v1/clients/{id}/rotate-webhook-secret":  "webhook.rotate_secret",
	"POST /admin/v1/clients/{id}/credits":                "credits.top_up",
	"POST /admin/v1/numbers":                             "number.create",
	"PATCH /admin/v1/numbers/{number}":                   "number.update",
	"DELETE /admin/v1/numbers/{number}":                  "number.delete",
	"POST /admin/v1/unrouted/{id}/assign":                "unrouted.assign",
	"POST /admin/v1/deliveries/{id}/replay":              "delivery.replay",
	"POST /admin/v1/simulator/inbound":                   "simulator.inbound",
	"POST /admin/v1/clients/{id}/suppressions":           "suppression.add",
	"DELETE /admin/v1/clients/{id}/suppressions/{phone}": "suppression.remove",
}

// audited records a successful change made through the admin API in the audit log: the
// action, the client (from the path, or the answer), the path, and the ids the answer gives.
// Reads are not recorded; nor are refused requests, nor Idempotency-Key replays.
func (a *API) audited(pattern string, h http.Handler) http.Handler {
	action, ok := auditActions[pattern]
	if !ok {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &auditWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if rec.status >= 300 || rec.Header().Get("Idempotent-Replayed") != "" {
			return // refused, or the replay of a change already recorded
		}
		var out struct {
			ID       string `json:"id"`
			ClientID string `json:"client_id"`
			Number   string `json:"number"`
			Entry    *struct {
				AmountCents int64  `json:"amount_cents"`
				Reference   string `json:"reference"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(rec.head.Bytes(), &out)
		e := model.AuditEntry{Actor: audit.APIActor, Action: action, ClientID: out.ClientID, Target: r.URL.Path}
		switch {
		case action == "client.create":
			e.ClientID = out.ID
		case strings.Contains(pattern, "/clients/{id}"):
			e.ClientID = r.PathValue("id")
		}
		if out.ID != "" {
			e.Detail = "id=" + out.ID
		}
		if out.Number != "" {
			e.Detail = strings.TrimSpace(e.Detail + " number=" + out.Number)
		}
		if out.Entry != nil { // a top-up: how much, and why
			e.Detail = fmt.Sprintf("amount_cents=%d reference=%s", out.Entry.AmountCents, out.Entry.Reference)
		}
		if err := audit.Record(r.Context(), a.Store, a.now(), e); err != nil {
			respond.Log(r, "audit entry not recorded", err)
		}
	})
}

// auditWriter keeps the status and the start of the answer (enough for its ids).
type auditWriter struct {
	http.ResponseWriter
	status int
	head   bytes.Buffer
}

func (w *auditWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if room := 8192 - w.head.Len(); room > 0 {
		w.head.Write(b[:min(room, len(b))])
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the real writer.
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type auditOut struct {
	ID        string `json:"id"`
	Actor     string `json:"actor"`
	Action    string `json:"action"`
	ClientID  string `json:"client_id"`
	Target    string `json:"target"`
	Detail    string `json:"detail"`
	CreatedAt string `json:"created_at"`
}

// listAudit: GET /admin/v1/audit?client_id=&limit=&cursor=: the audit log, newest first.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	es, err := a.Store.Audit(r.Context(), r.URL.Query().Get("client_id"), cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]auditOut, len(es))
	last := ""
	for i, e := range es {
		out[i] = auditOut{ID: e.ID, Actor: e.Actor, Action: e.Action, ClientID: e.ClientID, Target: e.Target,
			Detail: e.Detail, CreatedAt: formatTime(e.CreatedAt)}
		last = e.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(es), limit, last)})
}
