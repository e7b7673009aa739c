package ibikitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/ibiki/ibiki/internal/api"
)

// Every test server holds its HTTP API to the OpenAPI document (api.OpenAPI, kept as
// docs/openapi.json): each request to the client, admin and Twilio-compatible APIs, and its
// answer, is validated against it, and the test fails at its end listing those that do not
// match. A request the document does not allow is fine when the server refused it with an
// answer the document gives for it (tests send bad requests on purpose); any answer the
// document does not describe is not, nor is a request it does not allow that the server took.

// checkedPrefixes are the paths validated against the document.
var checkedPrefixes = []string{"/api/v1/", "/admin/v1/", "/2010-04-01/"}

// maxChecked bounds the bytes of a body kept for validation; a larger body is not validated.
const maxChecked = 8 << 20

// OpenAPIValidator is the document's validator, built once (it is not cheap). Calls are
// serialised by validatorMu.
var OpenAPIValidator = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(api.OpenAPI())
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc, config.WithURLEncodedBodyValidation())
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi validator: %v", errs)
	}
	return v, nil
})

var validatorMu sync.Mutex

// contract collects the mismatches of one test server.
type contract struct {
	mu       sync.Mutex
	problems []string
}

// check wraps h; the test fails at its end if a request or an answer did not match.
func (c *contract) check(t testing.TB, h http.Handler) http.Handler {
	v, err := OpenAPIValidator()
	if err != nil {
		t.Fatalf("the OpenAPI document cannot be used: %v", err)
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.problems) > 0 {
			t.Errorf("%d requests or answers do not match the OpenAPI document (internal/api/openapi*.go, docs/openapi.json):\n%s",
				len(c.problems), strings.Join(c.problems, "\n"))
		}
	})
	return c.wrap(v, h)
}

// wrap validates the exchanges with the API that pass through h.
func (c *contract) wrap(v validator.Validator, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || !slices.ContainsFunc(checkedPrefixes, func(p string) bool { return strings.HasPrefix(r.URL.Path, p) }) {
			h.ServeHTTP(w, r)
			return
		}
		in := &teeBody{ReadCloser: r.Body}
		r.Body = in
		rec := &answerRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		in.drain()
		if p := c.validate(v, r, in, rec); p != "" {
			c.mu.Lock()
			c.problems = append(c.problems, p)
			c.mu.Unlock()
		}
	})
}

// validate checks one exchange; it returns what is wrong, or "".
func (c *contract) validate(v validator.Validator, r *http.Request, in *teeBody, rec *answerRecorder) string {
	if in.over || rec.over {
		return "" // too large to keep: not validated
	}
	return checkExchange(v, r, in.buf.Bytes(), rec.status, rec.Header(), rec.buf.Bytes())
}

// CheckExchange holds one exchange with the HTTP API, seen from outside the server (a test that
// drives a real process), to the OpenAPI document, by the rules above: it returns what is
// wrong, or "" (also for a path the document does not cover, such as a provider webhook).
func CheckExchange(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) (string, error) {
	if r.Method == http.MethodHead || !slices.ContainsFunc(checkedPrefixes, func(p string) bool { return strings.HasPrefix(r.URL.Path, p) }) ||
		len(reqBody) > maxChecked || len(body) > maxChecked {
		return "", nil
	}
	v, err := OpenAPIValidator()
	if err != nil {
		return "", err
	}
	return checkExchange(v, r, reqBody, status, header, body), nil
}

func checkExchange(v validator.Validator, r *http.Request, reqBody []byte, status int, header http.Header, body []byte) string {
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	res := &http.Response{StatusCode: status, Header: header.Clone(), Request: req, Body: io.NopCloser(bytes.NewReader(body))}
	what := fmt.Sprintf("%s %s → %d", r.Method, r.URL.RequestURI(), status)

	validatorMu.Lock()
	defer validatorMu.Unlock()
	_, reqErrs := v.ValidateHttpRequestSync(req)
	if slices.ContainsFunc(reqErrs, func(e *verrors.ValidationError) bool { return e.IsPathMissingError() || e.IsOperationMissingError() }) {
		// Not an operation of the document: it must be the mux's answer to an unknown path or
		// method, in the surface's error shape.
		if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && errorShaped(r.URL.Path, body) {
			return ""
		}
		return what + ": not an operation of the document: " + describe(reqErrs) + " " + clip(string(body))
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	if _, resErrs := v.ValidateHttpResponse(req, res); len(resErrs) > 0 {
		return what + ": the answer does not match: " + describe(resErrs) + " " + clip(string(body))
	}
	if len(reqErrs) > 0 && (status < 400 || status >= 500) {
		return what + ": the request does not match the document, yet the server took it: " + describe(reqErrs) + " " + clip(string(reqBody))
	}
	return ""
}

// errorShaped reports whether body is an error of the surface of path: Twilio's
// {"code","message","more_info","status"}, or Ibiki's {"error":{"code","message"…}}.
func errorShaped(path string, body []byte) bool {
	if strings.HasPrefix(path, "/2010-04-01/") {
		var e struct {
			Code     int    `json:"code"`
			Message  string `json:"message"`
			MoreInfo string `json:"more_info"`
			Status   int    `json:"status"`
		}
		return strictJSON(body, &e) == nil && e.Code != 0 && e.Status != 0
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	return strictJSON(body, &e) == nil && e.Error.Code != ""
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// describe lists validation errors in a line each.
func describe(errs []*verrors.ValidationError) string {
	var lines []string
	for _, e := range errs {
		line := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			line += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			line += fmt.Sprintf(" [%s at %s]", f.Reason, f.FieldPath)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "; ")
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// teeBody keeps what the handler reads of a request body; drain reads what it left.
type teeBody struct {
	io.ReadCloser
	buf  bytes.Buffer
	over bool
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.keep(p[:n])
	return n, err
}

func (b *teeBody) keep(p []byte) {
	if b.buf.Len()+len(p) > maxChecked {
		b.over = true
		return
	}
	b.buf.Write(p)
}

// drain reads the rest of the body (up to the bound), for the validation of what the handler
// did not read.
func (b *teeBody) drain() {
	rest, _ := io.ReadAll(io.LimitReader(b.ReadCloser, maxChecked+1))
	b.keep(rest)
}

// answerRecorder keeps an answer's status and body as it is written.
type answerRecorder struct {
	http.ResponseWriter
	status  int
	written bool
	buf     bytes.Buffer
	over    bool
}

func (a *answerRecorder) WriteHeader(code int) {
	if !a.written {
		a.status, a.written = code, true
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerRecorder) Write(p []byte) (int, error) {
	a.written = true
	if a.buf.Len()+len(p) > maxChecked {
		a.over = true
	} else {
		a.buf.Write(p)
	}
	return a.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer.
func (a *answerRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }
