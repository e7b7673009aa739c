package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// Every exchange these tests have with a real Ibiki's HTTP API (through http.DefaultClient) is
// held to the OpenAPI document, as the in-process test servers are (ibikitest): TestMain fails
// the run when one does not match, listing them.

// contractTransport validates the API exchanges that pass through it.
type contractTransport struct {
	next     http.RoundTripper
	mu       sync.Mutex
	problems []string
}

var contract = &contractTransport{next: http.DefaultTransport}

func (c *contractTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var reqBody []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := c.next.RoundTrip(r)
	if err != nil || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		return res, err // a killed server, or an answer that is not the API's (a stream)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil // cut off (the server was killed): nothing to hold it to
	}
	problem, verr := ibikitest.CheckExchange(r, reqBody, res.StatusCode, res.Header, body)
	if verr != nil {
		problem = "the OpenAPI document cannot be used: " + verr.Error()
	}
	if problem != "" {
		c.mu.Lock()
		c.problems = append(c.problems, problem)
		c.mu.Unlock()
	}
	return res, nil
}

func (c *contractTransport) report() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}
