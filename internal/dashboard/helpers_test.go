package dashboard_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// Helpers for dashboard tests that go through the whole server (ibikitest.NewServer), as a
// browser would: cookies in a jar, forms posted with their CSRF token.
//
// Redirects are NOT followed: a test sees each 303 and its Location, which is what most
// security checks are about (where a login lands, whether a page bounces to /login). Call
// follow to load the page a redirect points to.

// The operator the fixture server creates, and the password fixture client users choose.
const (
	operatorEmail    = "op@example.com"
	operatorPassword = "operator-pass"
	userPassword     = "client-pass-123"
	sessionCookie    = "ibiki_session"
)

// requestTimeout bounds each request of a browser (an event stream has its own context).
const requestTimeout = 30 * time.Second

// answer is an HTTP answer read whole.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

// Location is where a redirect points ("" if none).
func (a answer) Location() string { return a.Header.Get("Location") }

// Cookie returns the cookie named name that the answer sets (Set-Cookie), or nil.
func (a answer) Cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: a.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// String is the status and the start of the body, for failure messages.
func (a answer) String() string {
	body := a.Body
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	if loc := a.Location(); loc != "" {
		return fmt.Sprintf("%d → %s", a.Status, loc)
	}
	return fmt.Sprintf("%d %q", a.Status, body)
}

// browser is one person's browser: a cookie jar (net/http/cookiejar, so Secure cookies are
// not sent over the test's plain http), no automatic redirects. Its methods fail the test
// they are bound to; inside t.Run use b.on(t), which shares the cookies.
type browser struct {
	t    testing.TB
	srv  *ibikitest.Server
	jar  *cookiejar.Jar
	base *url.URL
	tok  *csrfCache
}

// csrfCache remembers the CSRF token of the session it was read for.
type csrfCache struct {
	mu             sync.Mutex
	token, session string
}

// newBrowser returns a browser with no cookies.
func newBrowser(t testing.TB, srv *ibikitest.Server) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, srv: srv, jar: jar, base: base, tok: &csrfCache{}}
}

// on returns the same browser (same cookies) failing t instead: use it inside subtests.
func (b *browser) on(t testing.TB) *browser {
	c := *b
	c.t = t
	return &c
}

// do sends a request with extra headers (nil for none) and reads the answer. A form body
// (url.Values) is sent urlencoded as it is: no CSRF token is added.
func (b *browser) do(method, path string, body io.Reader, header map[string]string) answer {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.send(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	a := answer{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
	if tok := csrfFrom(a.Body); tok != "" {
		b.tok.set(tok, b.sessionID())
	}
	return a
}

// send is one round trip with the jar's cookies. It goes to the transport directly, not
// through http.Client, so that any answer comes back as sent: http.Client refuses a redirect
// whose Location does not parse (a control character in it, say) even when told not to follow.
func (b *browser) send(req *http.Request) (*http.Response, error) {
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if cs := res.Cookies(); len(cs) > 0 {
		b.jar.SetCookies(req.URL, cs)
	}
	return res, nil
}

// get loads a page.
func (b *browser) get(path string) answer {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil, nil)
}

// follow loads the page the redirect a points to; the test fails if a is no redirect.
func (b *browser) follow(a answer) answer {
	b.t.Helper()
	if a.Status/100 != 3 || a.Location() == "" {
		b.t.Fatalf("want a redirect, got %s", a)
	}
	u, err := b.base.Parse(a.Location())
	if err != nil {
		b.t.Fatalf("redirect to %q: %v", a.Location(), err)
	}
	if u.Host != b.base.Host {
		b.t.Fatalf("redirect leaves the site: %q", a.Location())
	}
	return b.get(u.RequestURI())
}

// postForm posts values (nil for none) with the session's CSRF token, like a form of a page.
func (b *browser) postForm(path string, values url.Values) answer {
	b.t.Helper()
	v := url.Values{}
	for k, vs := range values {
		v[k] = vs
	}
	v.Set("csrf_token", b.csrfToken())
	return b.do(http.MethodPost, path, strings.NewReader(v.Encode()), nil)
}

// postRaw posts values exactly as given (no token added) with extra headers: a forged request.
func (b *browser) postRaw(path string, values url.Values, header map[string]string) answer {
	b.t.Helper()
	return b.do(http.MethodPost, path, strings.NewReader(values.Encode()), header)
}

// postFile posts a multipart form with one file (field "file") and the CSRF token.
func (b *browser) postFile(path, fileName, content string, values url.Values) answer {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range values {
		for _, v := range vs {
			mw.WriteField(k, v) //nolint:errcheck // writes to a buffer
		}
	}
	mw.WriteField("csrf_token", b.csrfToken()) //nolint:errcheck
	fw, err := mw.CreateFormFile("file", fileName)
	if err != nil {
		b.t.Fatal(err)
	}
	io.WriteString(fw, content) //nolint:errcheck
	if err := mw.Close(); err != nil {
		b.t.Fatal(err)
	}
	return b.do(http.MethodPost, path, &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
}

// login posts the sign-in form (next "" for none) and returns the answer unchecked.
func (b *browser) login(email, password, next string) answer {
	b.t.Helper()
	return b.postRaw("/login", url.Values{"email": {email}, "password": {password}, "next": {next}}, nil)
}

// csrfToken returns the CSRF token of the browser's session: the one read from the last page
// of this session, or else read from /account.
func (b *browser) csrfToken() string {
	b.t.Helper()
	sess := b.sessionID()
	if tok := b.tok.get(sess); tok != "" {
		return tok
	}
	a := b.get("/account")
	tok := csrfFrom(a.Body)
	if a.Status != http.StatusOK || tok == "" {
		b.t.Fatalf("no CSRF token on /account: %s", a)
	}
	return tok
}

func (c *csrfCache) get(session string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session != session {
		return ""
	}
	return c.token
}

func (c *csrfCache) set(token, session string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token, c.session = token, session
}

// sessionID is the value of the browser's session cookie ("" when it has none).
func (b *browser) sessionID() string {
	for _, c := range b.jar.Cookies(b.base) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// setSession puts a session cookie into the browser, as an attacker planting one (or a thief
// replaying one) would.
func (b *browser) setSession(value string) {
	b.jar.SetCookies(b.base, []*http.Cookie{{Name: sessionCookie, Value: value, Path: "/"}})
}

// signedIn reports whether the browser's session opens a page (rather than bouncing to /login).
func (b *browser) signedIn() bool {
	b.t.Helper()
	a := b.get("/account")
	switch {
	case a.Status == http.StatusOK:
		return true
	case a.Status == http.StatusSeeOther && strings.HasPrefix(a.Location(), "/login"):
		return false
	}
	b.t.Fatalf("GET /account: %s", a)
	return false
}

// signIn returns a new browser signed in as email, on the page the sign-in lands on.
func signIn(t testing.TB, srv *ibikitest.Server, email, password string) *browser {
	t.Helper()
	b := newBrowser(t, srv)
	a := b.login(email, password, "")
	if a.Status != http.StatusSeeOther || b.sessionID() == "" {
		t.Fatalf("sign in as %s: %s", email, a)
	}
	if landed := b.follow(a); landed.Status != http.StatusOK {
		t.Fatalf("sign in as %s: the landing page answers %s", email, landed)
	}
	return b
}

var (
	csrfInput  = regexp.MustCompile(`<input[^>]*\bname="csrf_token"[^>]*>`)
	valueAttr  = regexp.MustCompile(`\bvalue="([^"]*)"`)
	inviteCode = regexp.MustCompile(`id="invite-link"[^>]*>([^<]+)<`)
)

// csrfFrom reads the CSRF token from a page's hidden input name="csrf_token" ("" if none).
func csrfFrom(page string) string {
	in := csrfInput.FindString(page)
	if m := valueAttr.FindStringSubmatch(in); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// inviteLinkFrom reads the invitation link (element id="invite-link") from a page.
func inviteLinkFrom(page string) string {
	if m := inviteCode.FindStringSubmatch(page); m != nil {
		return strings.TrimSpace(html.UnescapeString(m[1]))
	}
	return ""
}

// fixture is a server with the operator op@example.com, signed in as op. Its methods fail
// the test it was made for; inside t.Run use f.on(t).
type fixture struct {
	t   testing.TB
	srv *ibikitest.Server
	op  *browser
}

// newFixture starts a server with the fixture operator; env adds IBIKI_* settings.
func newFixture(t testing.TB, env map[string]string) *fixture {
	t.Helper()
	vars := map[string]string{"IBIKI_ADMIN_EMAIL": operatorEmail, "IBIKI_ADMIN_PASSWORD": operatorPassword}
	for k, v := range env {
		vars[k] = v
	}
	srv := ibikitest.NewServer(t, vars)
	return &fixture{t: t, srv: srv, op: signIn(t, srv, operatorEmail, operatorPassword)}
}

// on returns the fixture failing t instead: use it inside subtests.
func (f *fixture) on(t testing.TB) *fixture {
	return &fixture{t: t, srv: f.srv, op: f.op.on(t)}
}

// client creates a client through the admin API.
func (f *fixture) client(id string) ibikitest.CreatedClient {
	f.t.Helper()
	return f.srv.CreateClient(id, "")
}

// invite has the operator invite email as a user of clientID, and returns the path of the
// invitation link (/invite/<token>) shown on the page.
func (f *fixture) invite(clientID, email string) string {
	f.t.Helper()
	a := f.op.postForm("/clients/"+clientID+"/users", url.Values{"email": {email}, "name": {"User " + email}})
	link := inviteLinkFrom(a.Body)
	if a.Status != http.StatusOK || link == "" {
		f.t.Fatalf("invite %s to %s: no invitation link in %s", email, clientID, a)
	}
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/invite/") {
		f.t.Fatalf("invitation link %q", link)
	}
	return u.Path
}

// acceptInvite opens an invitation in a fresh browser and chooses password; it returns the
// browser, signed in.
func (f *fixture) acceptInvite(invitePath, password string) *browser {
	f.t.Helper()
	b := newBrowser(f.t, f.srv)
	if a := b.get(invitePath); a.Status != http.StatusOK {
		f.t.Fatalf("GET %s: %s", invitePath, a)
	}
	a := b.postRaw(invitePath, url.Values{"password": {password}, "password_again": {password}}, nil)
	if a.Status != http.StatusSeeOther || b.sessionID() == "" {
		f.t.Fatalf("accept %s: %s", invitePath, a)
	}
	if landed := b.follow(a); landed.Status != http.StatusOK {
		f.t.Fatalf("after accepting %s: %s", invitePath, landed)
	}
	return b
}

// clientUser makes a user of clientID with userPassword (invited by the operator, invitation
// accepted) and returns that user's browser, signed in.
func (f *fixture) clientUser(clientID, email string) *browser {
	f.t.Helper()
	return f.acceptInvite(f.invite(clientID, email), userPassword)
}

// admin calls the admin API and fails the test unless the answer has status want.
func (f *fixture) admin(method, path string, body any, want int) ibikitest.Response {
	f.t.Helper()
	res := f.srv.Do(method, path, ibikitest.AdminToken, body)
	if res.Status != want {
		f.t.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, want)
	}
	return res
}

// api calls the client API with key and fails the test unless the answer has status want.
func (f *fixture) api(key, method, path string, body any, want int) ibikitest.Response {
	f.t.Helper()
	res := f.srv.Do(method, path, key, body)
	if res.Status != want {
		f.t.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, want)
	}
	return res
}

// routeNumber routes inbound messages to number to clientID.
func (f *fixture) routeNumber(number, clientID string) {
	f.t.Helper()
	f.admin("POST", "/admin/v1/numbers", map[string]string{"number": number, "client_id": clientID}, http.StatusCreated)
}

// inject makes a contact's text arrive through the simulator provider; it returns the
// accepted message's id.
func (f *fixture) inject(from, to, body string) string {
	f.t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	f.admin("POST", "/admin/v1/simulator/inbound", map[string]string{"from": from, "to": to, "body": body}, http.StatusAccepted).JSON(f.t, &out)
	return out.ID
}

// conversationOf waits until the client (API key) has a conversation with phone and returns
// its id.
func (f *fixture) conversationOf(key, phone string) string {
	f.t.Helper()
	var id string
	waitFor(f.t, "the conversation with "+phone, func() bool {
		var pg struct {
			Data []struct {
				ID    string `json:"id"`
				Phone string `json:"phone"`
			} `json:"data"`
		}
		f.api(key, "GET", "/api/v1/conversations", nil, http.StatusOK).JSON(f.t, &pg)
		for _, c := range pg.Data {
			if c.Phone == phone {
				id = c.ID
				return true
			}
		}
		return false
	})
	return id
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sse is one Server-Sent Event.
type sse struct {
	Kind, Data string
}

// events opens the browser's GET /events stream and returns its events as they come; the
// channel closes when the stream ends. It returns once the server has subscribed the stream
// (its ": connected" comment arrived), so nothing sent after is missed. The stream is closed
// when the test ends.
func (b *browser) events() <-chan sse {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL+"/events", nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	res, err := b.send(req)
	if err != nil {
		b.t.Fatalf("GET /events: %v", err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		res.Body.Close()
		b.t.Fatalf("GET /events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(res.Body)
	connected := make(chan bool, 1)
	out := make(chan sse, 64)
	go func() {
		defer res.Body.Close()
		defer close(out)
		var ev sse
		for lines.Scan() {
			line := lines.Text()
			switch {
			case line == ": connected":
				connected <- true
			case strings.HasPrefix(line, "event: "):
				ev.Kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.Kind != "":
				out <- ev
				ev = sse{}
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		b.t.Fatal("GET /events: no \": connected\" within 10 s")
	}
	return out
}
