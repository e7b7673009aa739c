package dashboard_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

const (
	opEmail    = "op@example.com"
	opPassword = "operator-pass"
)

// opServer starts an Ibiki with an operator account; env adds settings.
func opServer(t *testing.T, env map[string]string) *ibikitest.Server {
	t.Helper()
	vars := map[string]string{"IBIKI_ADMIN_EMAIL": opEmail, "IBIKI_ADMIN_PASSWORD": opPassword}
	for k, v := range env {
		vars[k] = v
	}
	return ibikitest.NewServer(t, vars)
}

// opBrowser is a signed-in operator's browser: it keeps cookies and the CSRF token of the last
// page it loaded, and does not follow redirects (so that tests see them).
type opBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

type opPage struct {
	Status   int
	Body     string
	Location string
}

var opCSRFInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func opSignIn(t *testing.T, s *ibikitest.Server) *opBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &opBrowser{t: t, base: s.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	res := b.do("POST", "/login", url.Values{"email": {opEmail}, "password": {opPassword}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", res.Status, res.Body)
	}
	b.get("/numbers", http.StatusOK) // picks up the CSRF token
	return b
}

func (b *opBrowser) do(method, path string, form url.Values) opPage {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := opPage{Status: res.StatusCode, Body: string(raw), Location: res.Header.Get("Location")}
	if m := opCSRFInput.FindStringSubmatch(p.Body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

// get loads a page and checks its status.
func (b *opBrowser) get(path string, status int) opPage {
	b.t.Helper()
	p := b.do("GET", path, nil)
	if p.Status != status {
		b.t.Fatalf("GET %s: %d, want %d\n%s", path, p.Status, status, p.Body)
	}
	return p
}

// post submits a form with the CSRF token and checks the answer's status.
func (b *opBrowser) post(path string, form url.Values, status int) opPage {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.csrf)
	p := b.do("POST", path, form)
	if p.Status != status {
		b.t.Fatalf("POST %s: %d, want %d\n%s", path, p.Status, status, p.Body)
	}
	return p
}

func opEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func opMustDo(t *testing.T, s *ibikitest.Server, method, path, auth string, body any, status int) ibikitest.Response {
	t.Helper()
	res := s.Do(method, path, auth, body)
	if res.Status != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, status)
	}
	return res
}

type apiNumber struct {
	Number   string  `json:"number"`
	ClientID *string `json:"client_id"`
	Provider *string `json:"provider"`
}

type apiDelivery struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func TestOperationsPagesAreForOperatorsOnly(t *testing.T) {
	s := opServer(t, nil)
	for _, path := range []string{"/numbers", "/providers", "/unrouted", "/deliveries"} {
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("GET %s signed out: %d %s, want a redirect to /login", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
}
