// Package respond writes JSON answers and holds the error catalogue shared by every HTTP
// transport (the client API, the admin API and the provider webhooks), so that every error has
// the one shape {"error":{"code","message","param"}} and one mapping from domain errors.
package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/store"
)

// Error is an API error with its HTTP status and stable snake_case code.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	// insufficient_credits says what was missing.
	BalanceCents *int64 `json:"balance_cents,omitempty"`
	NeededCents  *int64 `json:"needed_cents,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Invalid is a 400 naming the bad parameter.
func Invalid(param, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Message: msg, Param: param}
}

// Missing is a 400 for a required parameter that is absent.
func Missing(param string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "missing_field", Message: param + " is required", Param: param}
}

// The catalogue of errors that carry no parameter.
var (
	ErrUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "a valid API key is required (Authorization: Bearer <key> or X-API-Key)"}
	ErrAdminUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "a valid admin token is required (Authorization: Bearer <token>)"}
	ErrNotFound = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such resource"}
	ErrConflict = &Error{Status: http.StatusConflict, Code: "conflict", Message: "the resource already exists"}
	ErrTooLarge = &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
		Message: "the request body is larger than the limit"}
	ErrUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
		Message: "the server is shutting down or overloaded; retry"}
	ErrInternal = &Error{Status: http.StatusInternalServerError, Code: "internal_error",
		Message: "something went wrong on our side; it has been logged"}
)

// JSON writes v with the status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Err writes err as the JSON error it maps to. Unknown errors are logged (with the request id)
// and answered as internal_error, never with their text.
func Err(w http.ResponseWriter, r *http.Request, err error) {
	e := Map(err)
	if e == ErrInternal {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", w.Header().Get("X-Request-Id"), "error", err)
	}
	JSON(w, e.Status, map[string]*Error{"error": e})
}

// Log records a failure that can no longer be answered (the answer had started).
func Log(r *http.Request, msg string, err error) {
	slog.ErrorContext(r.Context(), msg, "method", r.Method, "path", r.URL.Path, "error", err)
}

// Map finds the catalogue entry for an error.
func Map(err error) *Error {
	var (
		e  *Error
		fe *provider.FieldError
		mb *http.MaxBytesError
		ic *store.InsufficientCreditsError
	)
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &fe):
		return Invalid(fe.Field, fe.Error())
	case errors.As(err, &mb):
		return ErrTooLarge
	case errors.Is(err, provider.ErrMalformed):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_payload", Message: err.Error()}
	case errors.As(err, &ic):
		return &Error{Status: http.StatusPaymentRequired, Code: "insufficient_credits",
			Message:      fmt.Sprintf("the balance (%d cents) does not cover this send (%d cents)", ic.BalanceCents, ic.NeededCents),
			BalanceCents: &ic.BalanceCents, NeededCents: &ic.NeededCents}
	case errors.Is(err, outbound.ErrOptedOut):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "recipient_opted_out", Message: err.Error(), Param: "to"}
	case errors.Is(err, outbound.ErrSenderNotAllowed):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "sender_not_allowed", Message: err.Error(), Param: "from"}
	case errors.Is(err, outbound.ErrSenderNotSupported):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "sender_not_supported", Message: err.Error(), Param: "from"}
	case errors.Is(err, outbound.ErrChannelNotSupported):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "channel_not_supported", Message: err.Error(), Param: "channel"}
	case errors.Is(err, outbound.ErrMediaNotSupported):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "media_not_supported", Message: err.Error(), Param: "media_urls"}
	case errors.Is(err, outbound.ErrDLTRequired):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "dlt_template_required", Message: err.Error(), Param: "dlt_template_id"}
	case errors.Is(err, outbound.ErrDLTUnknown):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "dlt_template_unknown", Message: err.Error(), Param: "dlt_template_id"}
	case errors.Is(err, outbound.ErrDLTMismatch):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "dlt_template_mismatch", Message: err.Error(), Param: "body"}
	case errors.Is(err, outbound.ErrDLTSender):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "dlt_sender_mismatch", Message: err.Error(), Param: "from"}
	case errors.Is(err, outbound.ErrNotScheduled):
		return &Error{Status: http.StatusConflict, Code: "not_scheduled", Message: err.Error()}
	case errors.Is(err, outbound.ErrClientInactive):
		return &Error{Status: http.StatusForbidden, Code: "client_inactive", Message: err.Error()}
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrConflict):
		return ErrConflict
	case errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrBusy), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return ErrUnavailable
	default:
		return ErrInternal
	}
}

// Decode reads a JSON object body into v, refusing unknown fields (a typo in a field name is
// an error, not a silently ignored setting), trailing data, and strings that are not text
// (checkText). The body is kept as it is read, for checkText.
func Decode(r *http.Request, v any) error {
	var body bytes.Buffer
	if err := decode(json.NewDecoder(io.TeeReader(r.Body, &body)), v); err != nil {
		return err
	}
	return checkText(body.Bytes())
}

// DecodeBytes is Decode for a body already read whole (the API reads a creating request before
// it decodes it, to identify it for its Idempotency-Key): checkText scans the bytes it is
// given, where Decode has to keep a second copy of the body as it reads it.
func DecodeBytes(body []byte, v any) error {
	if decodeFlat(body, v) {
		return checkText(body)
	}
	if err := decode(json.NewDecoder(bytes.NewReader(body)), v); err != nil {
		return err
	}
	return checkText(body)
}

// decode reads one JSON object from dec into v, with Decode's rules but for text.
func decode(dec *json.Decoder, v any) error {
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var (
			mb  *http.MaxBytesError
			ute *json.UnmarshalTypeError
		)
		switch {
		case errors.As(err, &mb):
			return ErrTooLarge
		case errors.As(err, &ute):
			return Invalid(ute.Field, ute.Field+" must be "+jsonType(ute.Type.Kind().String()))
		default:
			if f, ok := unknownField(err); ok {
				return Invalid(f, "unknown field "+f)
			}
			return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body is not valid JSON: " + err.Error()}
		}
	}
	if dec.More() {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body has data after the JSON object"}
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "ptr", "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	default:
		return "a number"
	}
}

// unknownField reads the field name out of encoding/json's "unknown field" error.
func unknownField(err error) (string, bool) {
	const p = `json: unknown field "`
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p) : len(s)-1], true
	}
	return "", false
}
