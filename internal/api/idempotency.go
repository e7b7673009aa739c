package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// saveFunc stores a creating call's answer in the transaction that did the work.
type saveFunc func(tx *store.Tx, status int, v any) error

// idempotent runs a creating call under the request's Idempotency-Key, if it has one. The same
// key with the same body answers the first answer again (with Idempotent-Replayed: true) and
// does nothing new; the same key with another body is 409. Only successful answers are kept:
// a refused request (no credits, a bad field) may be retried with its key once fixed. Keys are
// per client (owner) and kept at least 24 hours. create gets the body bytes and the save
// function to call inside its transaction (nil without a key).
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, owner string, create func(body []byte, save saveFunc) (int, any, error)) {
	a.scopedIdempotent(w, r, owner, "", create)
}

// scopedIdempotent is idempotent with the key stored under a scope prefix: the operator's keys
// for a client ("admin:") never collide with the client's own.
func (a *API) scopedIdempotent(w http.ResponseWriter, r *http.Request, owner, scope string, create func(body []byte, save saveFunc) (int, any, error)) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		respond.Err(w, r, respond.Map(err))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	key, err := checkKey(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	if key == "" {
		status, v, err := create(body, nil)
		answer(w, r, status, v, err)
		return
	}
	key = scope + key
	hash := requestHash(r, body)
	if a.replay(w, r, owner, key, hash) {
		return
	}
	save := func(tx *store.Tx, status int, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return tx.SaveIdempotentAnswer(r.Context(), owner, key, store.IdempotentAnswer{RequestHash: hash, StatusCode: status, Response: b}, a.now())
	}
	status, v, err := create(body, save)
	if errors.Is(err, store.ErrConflict) && a.replay(w, r, owner, key, hash) {
		return // a concurrent request with the same key won
	}
	answer(w, r, status, v, err)
}

// requestHash identifies a request for its Idempotency-Key: method, path and body.
func requestHash(r *http.Request, body []byte) string {
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
	return hex.EncodeToString(sum[:])
}

// replay answers from a stored idempotent answer, if there is one.
func (a *API) replay(w http.ResponseWriter, r *http.Request, owner, key, hash string) bool {
	prev, err := a.Store.IdempotentAnswer(r.Context(), owner, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false
	case err != nil:
		respond.Err(w, r, err)
	case prev.RequestHash != hash:
		respond.Err(w, r, &respond.Error{Status: http.StatusConflict, Code: "idempotency_key_reused",
			Message: "this Idempotency-Key was used with a different request", Param: "Idempotency-Key"})
	default:
		w.Header().Set("Idempotent-Replayed", "true")
		var marker campaignMarker
		if json.Unmarshal(prev.Response, &marker) == nil && marker.CampaignID != "" {
			// A campaign is answered as it is now (it was created in several steps).
			a.answerCampaign(w, r, owner, marker.CampaignID, prev.StatusCode)
			return true
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(prev.StatusCode)
		_, _ = w.Write(append(prev.Response, '\n'))
	}
	return true
}

// campaignMarker is what an Idempotency-Key keeps for a campaign: its id, saved in the
// transaction that creates the campaign, so that a retry finds it instead of making another.
type campaignMarker struct {
	CampaignID string `json:"campaign_id"`
}

// campaignKey returns the function that saves the marker of a keyed campaign creation.
func (a *API) campaignKey(r *http.Request, owner, key, hash string) func(tx *store.Tx, id string) error {
	return func(tx *store.Tx, id string) error {
		b, _ := json.Marshal(campaignMarker{CampaignID: id})
		return tx.SaveIdempotentAnswer(r.Context(), owner, key, store.IdempotentAnswer{RequestHash: hash,
			StatusCode: http.StatusCreated, Response: b}, a.now())
	}
}

// checkKey validates the Idempotency-Key header ("" when absent).
func checkKey(r *http.Request) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		return "", respond.Invalid("Idempotency-Key", "Idempotency-Key must be at most 255 characters")
	}
	return key, nil
}

func answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, status, v)
}
