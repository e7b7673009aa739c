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

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// answerFunc renders the result a domain operation hands to store.Tx.Done into the answer kept
// for the request's Idempotency-Key: its status and the value answered as JSON. A zero status
// keeps nothing (only successes are kept). It runs inside the operation's transaction.
type answerFunc func(result any) (status int, v any)

// answerWith is the answerFunc of an operation whose result is a T, answered with status.
func answerWith[T, V any](status int, out func(T) V) answerFunc {
	return func(result any) (int, any) { return status, out(result.(T)) }
}

// render is f as the store calls it.
func (f answerFunc) render(result any) (store.IdempotentAnswer, error) {
	status, v := f(result)
	if status == 0 {
		return store.IdempotentAnswer{}, nil
	}
	b, err := json.Marshal(v)
	return store.IdempotentAnswer{StatusCode: status, Response: b}, err
}

// keyed is a request's Idempotency-Key ("" when it has none), its owner and the hash that
// tells its request from another.
type keyed struct{ owner, key, hash string }

// idempotent runs a creating call under the request's Idempotency-Key, if it has one. The same
// key with the same body answers the first answer again (with Idempotent-Replayed: true) and
// does nothing new; the same key with another body is 409. Only successful answers are kept:
// a refused request (no credits, a bad field) may be retried with its key once fixed. Keys are
// per caller (owner: the client's id, or store.OperatorOwner for the admin token) and kept at
// least 24 hours. create gets the request, whose context carries the key to the domain
// operation (see begin), and the body bytes; kept renders the operation's result into the
// answer to keep.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, owner string, kept answerFunc, create func(*http.Request, []byte) (int, any, error)) {
	a.idempotentAs(w, r, ibikiShape, owner, kept, create)
}

// shape is how an API surface answers: its errors, and the headers that carry an idempotency
// key (the first one present is the key).
type shape struct {
	err     func(http.ResponseWriter, *http.Request, error)
	keyFrom []string
}

// ibikiShape is Ibiki's own API's.
var ibikiShape = shape{err: respond.Err, keyFrom: []string{"Idempotency-Key"}}

// idempotentAs is idempotent for an API surface of another shape (the Twilio-shaped API).
func (a *API) idempotentAs(w http.ResponseWriter, r *http.Request, sh shape, owner string, kept answerFunc, create func(*http.Request, []byte) (int, any, error)) {
	body, err := readBody(r)
	if err != nil {
		sh.err(w, r, err)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	key, err := checkKey(r, sh.keyFrom)
	if err != nil {
		sh.err(w, r, err)
		return
	}
	k := keyed{owner: owner, key: key}
	if key != "" {
		k.hash = requestHash(r, body)
	}
	r, done := a.begin(w, r, sh, k, kept)
	if done {
		return
	}
	status, v, err := create(r, body)
	if a.lostRace(w, r, sh, k, err) {
		return
	}
	if err != nil {
		sh.err(w, r, err)
		return
	}
	respond.JSON(w, status, v)
}

// begin starts a keyed request: it answers a repeat with the first answer (done), or returns
// the request with its key in the context, where the domain operation's store.Tx.Done finds it
// and keeps the answer kept renders in the transaction that does the work. A request without
// a key goes on as it is.
func (a *API) begin(w http.ResponseWriter, r *http.Request, sh shape, k keyed, kept answerFunc) (*http.Request, bool) {
	if k.key == "" {
		return r, false
	}
	if a.replay(w, r, sh, k.owner, k.key, k.hash) {
		return r, true
	}
	return r.WithContext(store.WithIdempotencyKey(r.Context(), &store.IdempotencyKey{Owner: k.owner, Key: k.key,
		RequestHash: k.hash, At: a.now(), Answer: kept.render})), false
}

// lostRace answers a keyed request whose operation failed on a conflict that is a concurrent
// request with the same key, committed first: its answer is replayed. An error of the operation
// that is a store.ErrConflict underneath (see keepCause) may be that.
func (a *API) lostRace(w http.ResponseWriter, r *http.Request, sh shape, k keyed, err error) bool {
	return k.key != "" && errors.Is(err, store.ErrConflict) && a.replay(w, r, sh, k.owner, k.key, k.hash)
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
func (a *API) replay(w http.ResponseWriter, r *http.Request, sh shape, owner, key, hash string) bool {
	prev, err := a.Store.IdempotentAnswer(r.Context(), owner, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false
	case err != nil:
		sh.err(w, r, err)
	case prev.RequestHash != hash:
		sh.err(w, r, &respond.Error{Status: http.StatusConflict, Code: "idempotency_key_reused",
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

// campaignAnswer keeps, for a keyed campaign creation, the campaign's id: a retry answers the
// campaign as it is then (see answerMarker).
var campaignAnswer = answerWith(http.StatusCreated, func(cp model.Campaign) answerMarker {
	return answerMarker{CampaignID: cp.ID}
})

// checkKey validates the idempotency key: the first of the headers present ("" when none is).
func checkKey(r *http.Request, headers []string) (string, error) {
	for _, h := range headers {
		key := r.Header.Get(h)
		if key == "" {
			continue
		}
		if len(key) > maxIdempotencyKey {
			return "", respond.Invalid(h, h+" must be at most 255 characters")
		}
		if flaw := text.Check(key); flaw != text.OK {
			return "", respond.NotText(h, flaw) // it is stored
		}
		return key, nil
	}
	return "", nil
}

// readBody reads a request's whole body (the server bounds its size).
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, respond.Map(err)
	}
	return b, nil
}
