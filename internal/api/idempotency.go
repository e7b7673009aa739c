package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
// per caller (owner: the client's id, or store.OperatorOwner for the admin token) and kept at
// least 24 hours. create gets the body bytes and the save function to call inside its
// transaction (nil without a key). An error of create that is a store.ErrConflict underneath
// (see keepCause) may be a concurrent request with the same key: its answer is replayed.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, owner string, create func(body []byte, save saveFunc) (int, any, error)) {
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
	hash := requestHash(r, body)
	if a.replay(w, r, owner, key, hash) {
		return
	}
	status, v, err := create(body, a.saver(r, owner, key, hash))
	if errors.Is(err, store.ErrConflict) && a.replay(w, r, owner, key, hash) {
		return // a concurrent request with the same key won
	}
	answer(w, r, status, v, err)
}

// saver returns the function that stores a keyed call's answer in the call's transaction.
func (a *API) saver(r *http.Request, owner, key, hash string) saveFunc {
	return func(tx *store.Tx, status int, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return tx.SaveIdempotentAnswer(r.Context(), owner, key, store.IdempotentAnswer{RequestHash: hash, StatusCode: status, Response: b}, a.now())
	}
}

// keepCause is the catalogue error mapped for the answer with the original error kept
// underneath, so that idempotent still sees a conflict (a concurrent request with the same
// key) behind a specific code such as contact_exists.
func keepCause(mapped, cause error) error {
	if mapped == cause || cause == nil {
		return mapped
	}
	return fmt.Errorf("%w (%w)", mapped, cause)
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
		var marker answerMarker
		_ = json.Unmarshal(prev.Response, &marker)
		switch {
		case marker.CampaignID != "":
			// A campaign is answered as it is now (it was created in several steps).
			a.answerCampaign(w, r, owner, marker.CampaignID, prev.StatusCode)
			return true
		case marker.SecretsOfClient != "":
			respond.Err(w, r, secretsShownOnce(marker.SecretsOfClient))
			return true
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(prev.StatusCode)
		_, _ = w.Write(append(prev.Response, '\n'))
	}
	return true
}

// answerMarker is what an Idempotency-Key keeps instead of an answer that is not replayed as
// it was. (An object answer never has these fields.)
type answerMarker struct {
	// CampaignID: a campaign's id, saved in the transaction that creates the campaign, so that
	// a retry finds it instead of making another; it is answered as it is now.
	CampaignID string `json:"campaign_id,omitempty"`
	// SecretsOfClient: a created client, whose answer carried its API key and webhook secret.
	// The key is kept only as a hash and secrets are not copied into idempotency_keys (plain
	// text, kept 25 hours), so a retry is told to rotate them (secretsShownOnce).
	SecretsOfClient string `json:"secrets_of_client,omitempty"`
}

// secretsShownOnce answers the repeat of a keyed client creation.
func secretsShownOnce(clientID string) error {
	return &respond.Error{Status: http.StatusConflict, Code: "secrets_shown_once",
		Message: "this Idempotency-Key already created client " + clientID + "; its API key and webhook secret are shown " +
			"only once and were not kept: rotate them (POST /admin/v1/clients/" + clientID + "/rotate-key and " +
			"/rotate-webhook-secret)", Param: "Idempotency-Key"}
}

// campaignKey returns the function that saves the marker of a keyed campaign creation.
func (a *API) campaignKey(r *http.Request, owner, key, hash string) func(tx *store.Tx, id string) error {
	return func(tx *store.Tx, id string) error {
		b, _ := json.Marshal(answerMarker{CampaignID: id})
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
