package dashboard_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// defect marks a failure that shows a defect of the dashboard (not of the test).
const defect = "DEFECT: "

// TestCSRFForgedPostsAreRefused: a state-changing POST made by another site with the victim's
// session cookie is refused, by http.CrossOriginProtection (Sec-Fetch-Site, Origin) and by the
// session's CSRF token behind it, and nothing changes.
func TestCSRFForgedPostsAreRefused(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	f.admin("POST", "/admin/v1/clients/acme/credits", map[string]any{"amount_cents": 500, "reference": "payment"}, http.StatusOK)
	user := f.clientUser("acme", "ann@acme.example")
	colleague := f.clientUser("acme", "bob@acme.example")

	secret := func(t testing.TB) string {
		t.Helper()
		c, err := f.srv.Store.Client(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		return c.WebhookSecret
	}
	clientIDs := func(t testing.TB) []string {
		t.Helper()
		var pg struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		f.on(t).admin("GET", "/admin/v1/clients", nil, http.StatusOK).JSON(t, &pg)
		var ids []string
		for _, c := range pg.Data {
			ids = append(ids, c.ID)
		}
		return ids
	}
	balance := func(t testing.TB) int64 {
		t.Helper()
		var b struct {
			BalanceCents int64 `json:"balance_cents"`
		}
		f.on(t).api(acme.APIKey, "GET", "/api/v1/balance", nil, http.StatusOK).JSON(t, &b)
		return b.BalanceCents
	}
	secret0, ids0, balance0 := secret(t), clientIDs(t), balance(t)
	if secret0 != acme.WebhookSecret {
		t.Fatalf("the stored secret is not the one the admin API gave out")
	}

	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site"}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-site"}
	evilOrigin := map[string]string{"Origin": "https://evil.example"}
	sameOrigin := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": f.srv.URL}
	const (
		ownToken   = "own"
		noToken    = "none"
		otherToken = "another session's"
	)
	forgeries := []struct {
		name   string
		who    *browser
		path   string
		form   url.Values
		token  string
		header map[string]string
		// byToken: refused by the CSRF token check (the page says so), not by the origin check.
		byToken bool
	}{
		{"a webhook secret rotation sent with Sec-Fetch-Site: cross-site is refused even with the right token",
			user, "/settings/webhook/rotate", nil, ownToken, crossSite, false},
		{"a webhook secret rotation sent with Sec-Fetch-Site: same-site (a sibling subdomain) is refused even with the right token",
			user, "/settings/webhook/rotate", nil, ownToken, sameSite, false},
		{"a webhook secret rotation from Origin https://evil.example is refused even with the right token",
			user, "/settings/webhook/rotate", nil, ownToken, evilOrigin, false},
		{"a same-origin webhook secret rotation without csrf_token is refused",
			user, "/settings/webhook/rotate", nil, noToken, sameOrigin, true},
		{"a same-origin webhook secret rotation with another session's csrf_token is refused",
			user, "/settings/webhook/rotate", nil, otherToken, sameOrigin, true},
		{"a webhook URL change without csrf_token is refused",
			user, "/settings/webhook", url.Values{"webhook_url": {"https://evil.example/hook"}}, noToken, nil, true},
		{"a client creation sent with Sec-Fetch-Site: cross-site is refused even with the right token",
			f.op, "/clients", url.Values{"id": {"forged"}, "name": {"Forged"}}, ownToken, crossSite, false},
		{"a client creation from Origin https://evil.example is refused even with the right token",
			f.op, "/clients", url.Values{"id": {"forged"}, "name": {"Forged"}}, ownToken, evilOrigin, false},
		{"a same-origin client creation without csrf_token is refused",
			f.op, "/clients", url.Values{"id": {"forged"}, "name": {"Forged"}}, noToken, sameOrigin, true},
		{"a top-up sent cross-site is refused even with the right token",
			f.op, "/clients/acme/credits", url.Values{"amount": {"100"}}, ownToken, crossSite, false},
		{"a top-up without csrf_token is refused",
			f.op, "/clients/acme/credits", url.Values{"amount": {"100"}}, noToken, nil, true},
		{"a sign-out sent cross-site is refused even with the right token",
			user, "/logout", nil, ownToken, crossSite, false},
		{"a sign-out everywhere without csrf_token is refused",
			user, "/logout-everywhere", nil, noToken, sameOrigin, true},
	}
	for _, tc := range forgeries {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.who.on(t)
			form := url.Values{}
			for k, v := range tc.form {
				form[k] = v
			}
			switch tc.token {
			case ownToken:
				form.Set("csrf_token", b.csrfToken())
			case otherToken:
				form.Set("csrf_token", colleague.on(t).csrfToken())
			}
			a := b.postRaw(tc.path, form, tc.header)
			if a.Status != http.StatusForbidden {
				t.Fatalf("POST %s: %s, want 403", tc.path, a)
			}
			if tc.byToken && !strings.Contains(a.Body, "came from another site") {
				t.Errorf("the 403 does not explain the refused form: %s", a)
			}
		})
	}
	t.Run("a sign-in posted from Origin https://evil.example is refused and starts no session", func(t *testing.T) {
		b := newBrowser(t, f.srv)
		a := b.postRaw("/login", url.Values{"email": {operatorEmail}, "password": {operatorPassword}}, evilOrigin)
		if a.Status != http.StatusForbidden || a.Cookie(sessionCookie) != nil {
			t.Errorf("cross-site sign-in: %s (session cookie %v)", a, a.Cookie(sessionCookie))
		}
	})
	t.Run("nothing the forged requests asked for happened", func(t *testing.T) {
		if s := secret(t); s != secret0 {
			t.Errorf("the webhook secret changed")
		}
		if ids := clientIDs(t); !slices.Equal(ids, ids0) {
			t.Errorf("clients %v → %v", ids0, ids)
		}
		if b := balance(t); b != balance0 {
			t.Errorf("balance %d → %d", balance0, b)
		}
		var c struct {
			WebhookURL *string `json:"webhook_url"`
		}
		f.on(t).admin("GET", "/admin/v1/clients/acme", nil, http.StatusOK).JSON(t, &c)
		if c.WebhookURL != nil && *c.WebhookURL != "" {
			t.Errorf("webhook URL is now %q", *c.WebhookURL)
		}
		if !user.on(t).signedIn() || !colleague.on(t).signedIn() {
			t.Errorf("a forged sign-out ended a session")
		}
	})
	t.Run("the same requests sent by the page itself, with the token, work", func(t *testing.T) {
		if a := user.on(t).postForm("/settings/webhook/rotate", nil); a.Status != http.StatusOK {
			t.Errorf("rotate: %s", a)
		}
		if secret(t) == secret0 {
			t.Errorf("the secret did not change on a genuine rotation")
		}
		if a := f.op.on(t).postForm("/clients", url.Values{"id": {"genuine"}, "name": {"Genuine"}}); a.Status != http.StatusCreated {
			t.Errorf("create client: %s", a)
		}
		if !slices.Contains(clientIDs(t), "genuine") {
			t.Errorf("the genuine client is missing")
		}
	})
}

// TestSessionIDChangesAtLogin: signing in always makes a new session id, so a cookie planted
// before (session fixation) is worthless.
func TestSessionIDChangesAtLogin(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	f.clientUser("acme", "ann@acme.example")
	const planted = "planted-by-the-attacker-0123456789abcdefghijklmnop"
	victim := newBrowser(t, f.srv)
	victim.setSession(planted)

	t.Run("a planted session cookie does not authenticate", func(t *testing.T) {
		a := victim.on(t).get("/")
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location(), "/login") {
			t.Errorf("GET / with a planted cookie: %s", a)
		}
	})
	t.Run("signing in replaces the planted cookie with a new session id", func(t *testing.T) {
		a := victim.on(t).login(operatorEmail, operatorPassword, "")
		if a.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %s", a)
		}
		c := a.Cookie(sessionCookie)
		if c == nil || c.Value == "" || c.Value == planted {
			t.Fatalf("the sign-in set session cookie %v", c)
		}
		if id := victim.sessionID(); id != c.Value {
			t.Errorf("the browser holds %q, want the new id", id)
		}
		if len(c.Value) < 43 {
			t.Errorf("session id %q is shorter than 256 bits in base64", c.Value)
		}
	})
	t.Run("the planted value still does not authenticate once the victim is signed in", func(t *testing.T) {
		attacker := newBrowser(t, f.srv)
		attacker.setSession(planted)
		if attacker.signedIn() {
			t.Errorf("the planted cookie opens the victim's session")
		}
		if !victim.on(t).signedIn() {
			t.Errorf("the victim is not signed in")
		}
	})
	t.Run("signing in twice in one browser gives two different ids, and the first one ends", func(t *testing.T) {
		b := signIn(t, f.srv, operatorEmail, operatorPassword)
		first := b.sessionID()
		if a := b.login(operatorEmail, operatorPassword, ""); a.Status != http.StatusSeeOther {
			t.Fatalf("second sign-in: %s", a)
		}
		second := b.sessionID()
		if second == "" || second == first {
			t.Fatalf("ids %q then %q", first, second)
		}
		replay := newBrowser(t, f.srv)
		replay.setSession(first)
		if replay.signedIn() {
			t.Errorf("the first id still works after signing in again")
		}
		if !b.signedIn() {
			t.Errorf("the second id does not work")
		}
	})
	t.Run("two browsers of one user get different ids", func(t *testing.T) {
		a, b := signIn(t, f.srv, "ann@acme.example", userPassword), signIn(t, f.srv, "ann@acme.example", userPassword)
		if a.sessionID() == b.sessionID() {
			t.Errorf("both browsers hold %q", a.sessionID())
		}
	})
}

// TestSessionLogout: signing out ends the session on the server, not only in the browser.
func TestSessionLogout(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	f.clientUser("acme", "ann@acme.example")

	t.Run("signing out ends the session: the old cookie no longer works", func(t *testing.T) {
		b := signIn(t, f.srv, "ann@acme.example", userPassword)
		old := b.sessionID()
		a := b.postForm("/logout", nil)
		if a.Status != http.StatusSeeOther || a.Location() != "/login" {
			t.Fatalf("sign out: %s", a)
		}
		if c := a.Cookie(sessionCookie); c == nil || c.MaxAge >= 0 {
			t.Errorf("the sign-out does not delete the cookie: %v", c)
		}
		if b.signedIn() {
			t.Errorf("the browser is still signed in")
		}
		thief := newBrowser(t, f.srv)
		thief.setSession(old)
		if thief.signedIn() {
			t.Errorf("the old session id still works after signing out")
		}
	})
	t.Run("signing out everywhere ends the user's sessions in every browser, and nobody else's", func(t *testing.T) {
		here := signIn(t, f.srv, "ann@acme.example", userPassword)
		phone := signIn(t, f.srv, "ann@acme.example", userPassword)
		laptop := signIn(t, f.srv, "ann@acme.example", userPassword)
		a := here.postForm("/logout-everywhere", nil)
		if a.Status != http.StatusSeeOther || a.Location() != "/login" {
			t.Fatalf("sign out everywhere: %s", a)
		}
		for name, b := range map[string]*browser{"this browser": here, "the phone": phone, "the laptop": laptop} {
			if b.on(t).signedIn() {
				t.Errorf("%s is still signed in", name)
			}
		}
		if !f.op.on(t).signedIn() {
			t.Errorf("the operator was signed out too")
		}
	})
}

// TestSessionEndsWhenClientIsDeactivated: "a deactivated client cannot send or sign in" (the
// client settings page) holds for browsers that were signed in before the deactivation too.
func TestSessionEndsWhenClientIsDeactivated(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	user := f.clientUser("acme", "ann@acme.example")
	invitation := f.invite("acme", "bob@acme.example")
	f.admin("PATCH", "/admin/v1/clients/acme", map[string]any{"active": false}, http.StatusOK)

	t.Run("a user of a deactivated client cannot sign in", func(t *testing.T) {
		if a := newBrowser(t, f.srv).login("ann@acme.example", userPassword, ""); a.Status != http.StatusUnauthorized {
			t.Errorf("sign in: %s, want 401", a)
		}
	})
	t.Run("a session opened before the client was deactivated no longer opens pages", func(t *testing.T) {
		for _, path := range []string{"/", "/account", "/settings/api-key"} {
			if a := user.on(t).get(path); a.Status == http.StatusOK {
				t.Errorf(defect+"the session of a deactivated client's user still opens %s "+
					"(auth.Sessions.Load / store.SessionUser check the user's active flag, not the client's)", path)
			}
		}
		if a := user.on(t).postForm("/settings/api-key", nil); a.Status == http.StatusOK {
			t.Errorf(defect + "the session of a deactivated client's user can still make a new API key")
		}
	})
	t.Run("an invitation of a deactivated client does not sign its user in", func(t *testing.T) {
		b := newBrowser(t, f.srv)
		b.postRaw(invitation, url.Values{"password": {userPassword}, "password_again": {userPassword}}, nil)
		if a := b.get("/account"); a.Status == http.StatusOK {
			t.Errorf(defect + "accepting the invitation signed a deactivated client's user in " +
				"(store.InviteUser checks u.active only, and acceptInvite starts a session)")
		}
	})
}

// TestSessionCookieAttributes: the cookies are HttpOnly and SameSite=Lax, and Secure when
// Ibiki is reached over https (IBIKI_PUBLIC_URL=https://…).
func TestSessionCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		publicURL  string
		wantSecure bool
	}{
		{"over plain http the cookies are HttpOnly, SameSite=Lax and not Secure", "", false},
		{"with IBIKI_PUBLIC_URL=https://… the cookies are Secure as well", "https://sms.example.com", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"IBIKI_ADMIN_EMAIL": operatorEmail, "IBIKI_ADMIN_PASSWORD": operatorPassword}
			if tc.publicURL != "" {
				env["IBIKI_PUBLIC_URL"] = tc.publicURL
			}
			srv := ibikitest.NewServer(t, env)
			check := func(step string, c *http.Cookie) {
				t.Helper()
				if c == nil {
					t.Errorf("%s: cookie not set", step)
					return
				}
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.wantSecure || c.Path != "/" {
					msg := step + ": cookie " + c.Name + " has HttpOnly=%t SameSite=%v Secure=%t Path=%q; want HttpOnly, Lax, Secure=%t, /"
					if c.Name != sessionCookie && c.Secure != tc.wantSecure {
						msg = defect + msg + " (render.go flash/takeFlash never set Secure)"
					}
					t.Errorf(msg, c.HttpOnly, c.SameSite, c.Secure, c.Path, tc.wantSecure)
				}
			}
			login := newBrowser(t, srv).login(operatorEmail, operatorPassword, "")
			if login.Status != http.StatusSeeOther {
				t.Fatalf("sign in: %s", login)
			}
			check("sign-in", login.Cookie(sessionCookie))
			// A Secure cookie is not sent back over the test's plain http: replay it by hand.
			b := newBrowser(t, srv)
			b.setSession(login.Cookie(sessionCookie).Value)
			out := b.postForm("/logout", nil)
			if out.Status != http.StatusSeeOther {
				t.Fatalf("sign out: %s", out)
			}
			check("sign-out (deleting the session cookie)", out.Cookie(sessionCookie))
			check("sign-out (the flash message)", out.Cookie("ibiki_flash"))
		})
	}
}

var (
	conversationLink = regexp.MustCompile(`href="/conversations/([^"?]+)"`)
	importAction     = regexp.MustCompile(`action="/contacts/import/([^"]+)"`)
	importReport     = regexp.MustCompile(`(?s)<dl class="stats">.*?</dl>|<p class="error"[^>]*>[^<]*</p>`)
)

// TestIsolationBetweenClientsAndRoles: a client user opening another client's things, or a
// page of the other role, gets 404, exactly as for a thing that does not exist. Client B's id
// extends client A's ("acme", "acme-eu") on purpose.
func TestIsolationBetweenClientsAndRoles(t *testing.T) {
	f := newFixture(t, nil)
	clientA := f.client("acme")
	clientB := f.client("acme-eu")
	const (
		numberA, numberB = "+15550001001", "+15550002002"
		contactA         = "+15557770009"
		contactB         = "+15557770001"
		taggedB          = "+15557770002"
		importedB        = "+15557770003"
		importedB2       = "+15557770004"
	)
	f.routeNumber(numberA, "acme")
	f.routeNumber(numberB, "acme-eu")
	userA := f.clientUser("acme", "ann@acme.example")
	userB := f.clientUser("acme-eu", "eve@acme-eu.example")

	// Client B's things: a conversation, a draft campaign, an upload waiting for its mapping.
	f.inject(contactB, numberB, "hello acme-eu")
	convB := f.conversationOf(clientB.APIKey, contactB)
	f.api(clientB.APIKey, "POST", "/api/v1/contacts", map[string]any{"phone": taggedB, "tags": []string{"vip"}}, http.StatusCreated)
	var campB struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	f.api(clientB.APIKey, "POST", "/api/v1/campaigns", map[string]any{"message": "acme-eu news", "tag": "vip", "draft": true}, http.StatusCreated).JSON(t, &campB)
	uploadB := func(phone string) string {
		t.Helper()
		a := userB.postFile("/contacts/import", "b.csv", "phone,first_name\n"+phone+",Bea\n", nil)
		m := importAction.FindStringSubmatch(a.Body)
		if a.Status != http.StatusOK || m == nil {
			t.Fatalf("client B's upload: %s", a)
		}
		return m[1]
	}
	tokenB, tokenB2 := uploadB(importedB), uploadB(importedB2)
	campaignStatus := func(t *testing.T) string {
		var c struct {
			Status string `json:"status"`
		}
		f.on(t).api(clientB.APIKey, "GET", "/api/v1/campaigns/"+campB.ID, nil, http.StatusOK).JSON(t, &c)
		return c.Status
	}

	for _, tc := range []struct{ name, path string }{
		{"B's conversation", "/conversations/" + convB},
		{"B's conversation messages (htmx part)", "/conversations/" + convB + "?part=messages"},
		{"B's conversation with the list (htmx part)", "/conversations/" + convB + "?part=list"},
		{"B's campaign", "/campaigns/" + campB.ID},
		{"B's campaign progress (htmx part)", "/campaigns/" + campB.ID + "?part=progress"},
	} {
		t.Run("client A's user opening "+tc.name+" gets 404, client B's user 200", func(t *testing.T) {
			if a := userA.on(t).get(tc.path); a.Status != http.StatusNotFound {
				t.Errorf("A: GET %s: %s", tc.path, a)
			} else if shows(a, contactB) || shows(a, "acme-eu news") {
				t.Errorf("A's 404 shows B's data")
			}
			if a := userB.on(t).get(tc.path); a.Status != http.StatusOK {
				t.Errorf("B: GET %s: %s", tc.path, a)
			}
		})
	}
	for _, tc := range []struct {
		name, path string
		form       url.Values
	}{
		{"replying in B's conversation", "/conversations/" + convB + "/reply", url.Values{"body": {"hi from acme"}}},
		{"cancelling B's campaign", "/campaigns/" + campB.ID + "/cancel", nil},
		{"starting B's campaign", "/campaigns/" + campB.ID + "/start", nil},
		{"pausing B's campaign", "/campaigns/" + campB.ID + "/pause", nil},
		{"running the import of B's upload token", "/contacts/import/" + tokenB, url.Values{"col1": {"phone"}, "col2": {"first_name"}}},
	} {
		t.Run("client A's user "+tc.name+" gets 404", func(t *testing.T) {
			if a := userA.on(t).postForm(tc.path, tc.form); a.Status != http.StatusNotFound {
				t.Errorf("A: POST %s: %s", tc.path, a)
			}
		})
	}
	t.Run("client A's user running B's upload through the shared file-name prefix (acme + eu-<token>) gets 404", func(t *testing.T) {
		// The upload is kept as ibiki-import-<client>-<token>.csv and tokens may hold '-': for
		// client "acme", token "eu-<B's token>" names client "acme-eu"'s file.
		ua := userA.on(t)
		a := ua.postForm("/contacts/import/eu-"+tokenB2, url.Values{"col1": {"phone"}, "col2": {"first_name"}})
		if a.Status != http.StatusNotFound {
			report := importReport.FindString(a.Body)
			t.Errorf(defect+"client acme ran client acme-eu's upload (dashboard/contacts.go uploadPath joins client id and "+
				"token with '-', and both may contain '-'): %d, report %q; B's contact %s is now in A's contacts: %t",
				a.Status, report, importedB2, shows(ua.get("/contacts"), importedB2))
		}
	})
	t.Run("B's things are unchanged and A's lists do not show them", func(t *testing.T) {
		if s := campaignStatus(t); s != "draft" {
			t.Errorf("B's campaign is %s, want draft", s)
		}
		var msgs struct {
			Data []struct {
				Direction string `json:"direction"`
			} `json:"data"`
		}
		f.on(t).api(clientB.APIKey, "GET", "/api/v1/messages?direction=outbound", nil, http.StatusOK).JSON(t, &msgs)
		if len(msgs.Data) != 0 {
			t.Errorf("B has %d outbound messages, want none", len(msgs.Data))
		}
		for _, path := range []string{"/", "/conversations", "/contacts", "/campaigns", "/contacts/export"} {
			a := userA.on(t).get(path)
			if a.Status != http.StatusOK {
				t.Errorf("A: GET %s: %s", path, a)
				continue
			}
			for _, leak := range []string{contactB, taggedB, convB, campB.ID, "acme-eu news"} {
				if shows(a, leak) {
					t.Errorf("A's %s shows B's %s", path, leak)
				}
			}
		}
	})
	t.Run("client B's user can still run the import and cancel the campaign (control)", func(t *testing.T) {
		ub := userB.on(t)
		if a := ub.postForm("/contacts/import/"+tokenB, url.Values{"col1": {"phone"}, "col2": {"first_name"}}); a.Status != http.StatusOK || !strings.Contains(a.Body, "import-report") {
			t.Errorf("B: run the import: %s", a)
		}
		if a := ub.postForm("/campaigns/"+campB.ID+"/cancel", nil); a.Status != http.StatusSeeOther {
			t.Errorf("B: cancel: %s", a)
		}
		if s := campaignStatus(t); s != "cancelled" && s != "canceled" {
			t.Errorf("B's campaign is %s after B cancelled it", s)
		}
	})

	operatorPages := []string{"/clients", "/clients/acme", "/clients/acme-eu", "/setup", "/setup/contacts.csv", "/simulator", "/audit"}
	for _, path := range operatorPages {
		t.Run("a client user opening the operator page "+path+" gets 404, the operator 200", func(t *testing.T) {
			if a := userA.on(t).get(path); a.Status != http.StatusNotFound {
				t.Errorf("client user: GET %s: %s", path, a)
			}
			if a := f.op.on(t).get(path); a.Status != http.StatusOK {
				t.Errorf("operator: GET %s: %s", path, a)
			}
		})
	}
	t.Run("a client user posting an operator form (a top-up of their own client) gets 404 and nothing changes", func(t *testing.T) {
		if a := userA.on(t).postForm("/clients/acme/credits", url.Values{"amount": {"1000"}}); a.Status != http.StatusNotFound {
			t.Errorf("POST /clients/acme/credits: %s", a)
		}
		if a := userA.on(t).postForm("/simulator", url.Values{"from": {contactA}, "to": {numberA}, "body": {"x"}}); a.Status != http.StatusNotFound {
			t.Errorf("POST /simulator: %s", a)
		}
		var bal struct {
			BalanceCents int64 `json:"balance_cents"`
		}
		f.on(t).api(clientA.APIKey, "GET", "/api/v1/balance", nil, http.StatusOK).JSON(t, &bal)
		if bal.BalanceCents != 0 {
			t.Errorf("acme's balance is %d, want 0", bal.BalanceCents)
		}
	})
	clientPages := []string{"/conversations", "/conversations/" + convB, "/contacts", "/contacts/import", "/campaigns",
		"/campaigns/new", "/campaigns/" + campB.ID, "/settings/webhook", "/balance", "/settings/api-key"}
	stable := strings.NewReplacer(convB, "{B's conversation}", campB.ID, "{B's campaign}")
	for _, path := range clientPages {
		t.Run("the operator opening the client page "+stable.Replace(path)+" gets 404", func(t *testing.T) {
			if a := f.op.on(t).get(path); a.Status != http.StatusNotFound {
				t.Errorf("operator: GET %s: %s", path, a)
			}
		})
	}
	t.Run("the operator posting a client form gets 404", func(t *testing.T) {
		if a := f.op.on(t).postForm("/settings/webhook/rotate", nil); a.Status != http.StatusNotFound {
			t.Errorf("POST /settings/webhook/rotate: %s", a)
		}
	})
}

// TestSecurityMessageTextIsEscaped: what a contact writes is shown as text, never as markup.
func TestSecurityMessageTextIsEscaped(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	f.routeNumber("+15550001001", "acme")
	user := f.clientUser("acme", "ann@acme.example")
	const (
		script  = `<script>alert(1)</script>`
		escaped = `&lt;script&gt;alert(1)&lt;/script&gt;`
		img     = `"><img src=x onerror=alert(2)>`
	)
	f.inject("+15557770001", "+15550001001", script)
	conv := f.conversationOf(acme.APIKey, "+15557770001")
	f.inject("+15557770002", "+15550001001", img)
	conv2 := f.conversationOf(acme.APIKey, "+15557770002")

	for _, tc := range []struct {
		name, path string
		htmx       bool
	}{
		{"the conversation list (home)", "/", false},
		{"the conversation list", "/conversations", false},
		{"the conversation list fragment", "/?part=list", true},
		{"the thread", "/conversations/" + conv, false},
		{"the thread's messages fragment", "/conversations/" + conv + "?part=messages", true},
		{"the search results", "/conversations?q=" + url.QueryEscape("alert"), false},
	} {
		t.Run("a <script> message body renders as text in "+tc.name, func(t *testing.T) {
			var h map[string]string
			if tc.htmx {
				h = map[string]string{"HX-Request": "true"}
			}
			a := user.on(t).do("GET", tc.path, nil, h)
			if a.Status != http.StatusOK {
				t.Fatalf("GET %s: %s", tc.path, a)
			}
			if strings.Contains(a.Body, script) {
				t.Errorf("the raw %s is in the HTML", script)
			}
			if !strings.Contains(a.Body, escaped) {
				t.Errorf("the escaped %s is not in the HTML:\n%s", escaped, a.Body)
			}
		})
	}
	t.Run("an attribute-breaking message body renders as text in the thread", func(t *testing.T) {
		a := user.on(t).get("/conversations/" + conv2)
		if a.Status != http.StatusOK || strings.Contains(a.Body, "<img src=x") || !strings.Contains(a.Body, "&lt;img src=x onerror=alert(2)&gt;") {
			t.Errorf("GET /conversations/%s: %s", conv2, a)
		}
	})
	t.Run("a search query with markup is echoed as text", func(t *testing.T) {
		q := `zz"><script>alert(3)</script>`
		a := user.on(t).get("/conversations?q=" + url.QueryEscape(q))
		if a.Status != http.StatusOK || strings.Contains(a.Body, "<script>alert(3)") {
			t.Errorf("search: %s", a)
		}
	})
}

// TestSecurityHeaders: every dashboard answer (pages, errors, refusals, redirects) forbids
// inline scripts, framing and caching.
func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	user := f.clientUser("acme", "ann@acme.example")
	anon := newBrowser(t, f.srv)
	for _, tc := range []struct {
		name   string
		who    *browser
		method string
		path   string
		status int
	}{
		{"the sign-in page", anon, "GET", "/login", http.StatusOK},
		{"the redirect to sign in", anon, "GET", "/campaigns", http.StatusSeeOther},
		{"a refused sign-in", anon, "POST", "/login", http.StatusUnauthorized},
		{"an unknown invitation", anon, "GET", "/invite/nope", http.StatusNotFound},
		{"the operator's home", f.op, "GET", "/", http.StatusOK},
		{"the client page", f.op, "GET", "/clients/acme", http.StatusOK},
		{"the client user's inbox", user, "GET", "/", http.StatusOK},
		{"the webhook settings", user, "GET", "/settings/webhook", http.StatusOK},
		{"the account page", user, "GET", "/account", http.StatusOK},
		{"a 404 for another role's page", user, "GET", "/clients", http.StatusNotFound},
		{"a 403 for a form without its token", user, "POST", "/settings/webhook/rotate", http.StatusForbidden},
	} {
		t.Run(tc.name+" carries a strict CSP, X-Frame-Options DENY and Cache-Control no-store", func(t *testing.T) {
			var a answer
			if tc.method == "GET" {
				a = tc.who.on(t).get(tc.path)
			} else {
				a = tc.who.on(t).postRaw(tc.path, url.Values{"email": {"x@example.com"}, "password": {"wrong-password"}}, nil)
			}
			if a.Status != tc.status {
				t.Fatalf("%s %s: %s, want %d", tc.method, tc.path, a, tc.status)
			}
			csp := parseCSP(a.Header.Get("Content-Security-Policy"))
			scripts, ok := csp["script-src"]
			if !ok {
				scripts = csp["default-src"]
			}
			if len(scripts) == 0 || slices.Contains(scripts, "'unsafe-inline'") || slices.Contains(scripts, "'unsafe-eval'") ||
				slices.Contains(scripts, "*") || slices.ContainsFunc(scripts, func(s string) bool { return strings.HasSuffix(s, ":") }) {
				t.Errorf("script sources %v in CSP %q", scripts, a.Header.Get("Content-Security-Policy"))
			}
			if fa := csp["frame-ancestors"]; !slices.Equal(fa, []string{"'none'"}) {
				t.Errorf("frame-ancestors %v", fa)
			}
			for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
				if got := a.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if tc.status == http.StatusOK {
				if bad := inlineScripts(a.Body); len(bad) > 0 {
					t.Errorf("the page has inline script the CSP would block: %q", bad)
				}
			}
		})
	}
}

// shows reports whether a page shows text s (html/template writes '+' as &#43;, for one).
func shows(a answer, s string) bool { return strings.Contains(html.UnescapeString(a.Body), s) }

// parseCSP splits a Content-Security-Policy into directives and their sources.
func parseCSP(policy string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		fields := strings.Fields(d)
		if len(fields) > 0 {
			out[strings.ToLower(fields[0])] = fields[1:]
		}
	}
	return out
}

var (
	scriptTag    = regexp.MustCompile(`(?is)<script\b[^>]*>`)
	eventHandler = regexp.MustCompile(`(?is)<[a-z][^>]*\son[a-z]+\s*=`)
)

// inlineScripts lists a page's script elements without src and its on* attributes.
func inlineScripts(page string) []string {
	var bad []string
	for _, tag := range scriptTag.FindAllString(page, -1) {
		if !strings.Contains(tag, " src=") {
			bad = append(bad, tag)
		}
	}
	return append(bad, eventHandler.FindAllString(page, -1)...)
}

// TestLoginRateLimit: password guessing is slowed per email, and a wrong sign-in does not
// reveal which emails have an account.
func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	f.clientUser("acme", "ann@acme.example")
	// cat has never signed in (accepting the invitation does not go through the limiter).
	f.clientUser("acme", "cat@acme.example")

	t.Run("a wrong password answers 401, word for word like an unknown email", func(t *testing.T) {
		known := newBrowser(t, f.srv).login("ann@acme.example", "wrong-password", "")
		unknown := newBrowser(t, f.srv).login("nobody@acme.example", "wrong-password", "")
		for _, a := range []answer{known, unknown} {
			if a.Status != http.StatusUnauthorized || !strings.Contains(a.Body, "Wrong email or password.") || a.Cookie(sessionCookie) != nil {
				t.Errorf("wrong sign-in: %s", a)
			}
		}
		k := strings.ReplaceAll(known.Body, "ann@acme.example", "EMAIL")
		u := strings.ReplaceAll(unknown.Body, "nobody@acme.example", "EMAIL")
		if k != u {
			t.Errorf("the answers for a known and an unknown email differ:\n%s\n---\n%s", k, u)
		}
	})
	t.Run("after 5 wrong passwords for one email the 6th attempt answers 429 with Retry-After, even with the right password", func(t *testing.T) {
		b := newBrowser(t, f.srv)
		for i := 1; i <= 5; i++ {
			if a := b.login("cat@acme.example", "wrong-password-"+strconv.Itoa(i), ""); a.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %s", i, a)
			}
		}
		a := b.login("cat@acme.example", userPassword, "")
		if a.Status != http.StatusTooManyRequests || a.Cookie(sessionCookie) != nil {
			t.Fatalf("6th attempt: %s", a)
		}
		secs, err := strconv.Atoi(a.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 31 {
			t.Errorf("Retry-After = %q", a.Header.Get("Retry-After"))
		}
		if !strings.Contains(a.Body, "Too many failed sign-ins") {
			t.Errorf("the page does not say why: %s", a)
		}
	})
	t.Run("the limit holds for the same email written in another case with spaces", func(t *testing.T) {
		if a := newBrowser(t, f.srv).login("  CAT@Acme.Example ", userPassword, ""); a.Status != http.StatusTooManyRequests {
			t.Errorf("sign in as CAT@Acme.Example: %s", a)
		}
	})
	t.Run("another email is not blocked, nor the sessions already open", func(t *testing.T) {
		if a := newBrowser(t, f.srv).login("ann@acme.example", userPassword, ""); a.Status != http.StatusSeeOther {
			t.Errorf("sign in as ann: %s", a)
		}
		if !f.op.on(t).signedIn() {
			t.Errorf("the operator's open session stopped working")
		}
	})
}

// TestLoginRateLimitHoldsForParallelGuesses: guesses sent all at once get no more tries than
// guesses sent one by one.
func TestLoginRateLimitHoldsForParallelGuesses(t *testing.T) {
	srv := ibikitest.NewServer(t, map[string]string{"IBIKI_ADMIN_EMAIL": operatorEmail, "IBIKI_ADMIN_PASSWORD": operatorPassword})
	const guesses = 12
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
		start  = make(chan struct{})
	)
	for i := range guesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			form := url.Values{"email": {operatorEmail}, "password": {"guess-number-" + strconv.Itoa(i)}}
			res, err := http.PostForm(srv.URL+"/login", form)
			status := -1
			if err == nil {
				status = res.StatusCode
				res.Body.Close()
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != guesses {
		t.Fatalf("answers %v", counts)
	}
	if n := counts[http.StatusUnauthorized]; n > 5 {
		t.Errorf(defect+"%d of %d parallel guesses were checked (answers %v), the budget is 5: auth.LoginLimiter.Allowed "+
			"only looks at the budget and Failed spends it after the password check, so concurrent guesses all pass", n, guesses, counts)
	}
}

// TestLoginSuccessfulSignInsAreFree: the limiter counts failed sign-ins only ("Successful
// sign-ins cost nothing"): someone signing in on several devices is never locked out.
func TestLoginSuccessfulSignInsAreFree(t *testing.T) {
	srv := ibikitest.NewServer(t, map[string]string{"IBIKI_ADMIN_EMAIL": operatorEmail, "IBIKI_ADMIN_PASSWORD": operatorPassword})
	for i := 1; i <= 8; i++ {
		if a := newBrowser(t, srv).login(operatorEmail, operatorPassword, ""); a.Status != http.StatusSeeOther {
			t.Fatalf(defect+"successful sign-in %d of 8 in a row: %s (auth.LoginLimiter.Try's done(true) calls "+
				"Reservation.CancelAt(l.clock()), later than the reservation, and x/time/rate restores nothing then)", i, a)
		}
	}
}

// TestLoginRedirectsToNext: a page opened signed out comes back after the sign-in, and only
// pages of this site do.
func TestLoginRedirectsToNext(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	// Sign-ins are spread over users so that no email nears the limiter's budget.
	users := []string{"ann@acme.example", "ben@acme.example", "cat@acme.example"}
	for _, u := range users {
		f.clientUser("acme", u)
	}
	base, _ := url.Parse(f.srv.URL)

	t.Run("an unsigned GET of a page redirects to /login?next=…, and the sign-in lands there", func(t *testing.T) {
		b := newBrowser(t, f.srv)
		a := b.get("/campaigns?before=x")
		want := "/login?next=" + url.QueryEscape("/campaigns?before=x")
		if a.Status != http.StatusSeeOther || a.Location() != want {
			t.Fatalf("GET /campaigns?before=x: %s, want 303 → %s", a, want)
		}
		form := b.follow(a)
		if form.Status != http.StatusOK || !strings.Contains(form.Body, `name="next" value="/campaigns?before=x"`) {
			t.Fatalf("the sign-in page does not carry next: %s", form)
		}
		in := b.login("ann@acme.example", userPassword, "/campaigns?before=x")
		if in.Status != http.StatusSeeOther || in.Location() != "/campaigns?before=x" {
			t.Fatalf("sign in: %s, want 303 → /campaigns?before=x", in)
		}
		if landed := b.follow(in); landed.Status != http.StatusOK {
			t.Errorf("landing: %s", landed)
		}
	})
	t.Run("an unsigned htmx request gets 401 and HX-Redirect: /login", func(t *testing.T) {
		a := newBrowser(t, f.srv).do("GET", "/campaigns", nil, map[string]string{"HX-Request": "true"})
		if a.Status != http.StatusUnauthorized || a.Header.Get("HX-Redirect") != "/login" {
			t.Errorf("htmx GET: %s (HX-Redirect %q)", a, a.Header.Get("HX-Redirect"))
		}
	})
	for i, tc := range []struct {
		next string
		// exact: the brief's cases must land exactly on "/"; for the others any same-site
		// target is fine (e.g. a harmless escaped local path).
		exact bool
	}{
		{"//evil.example", true},
		{"https://evil.example", true},
		{"http://evil.example/x", true},
		{"javascript:alert(1)", true},
		{"/\\evil.example", true},
		{"\\\\evil.example", true},
		{"///evil.example", true},
		{"/%2F/evil.example", false},
		{"/%5Cevil.example", false},
		{"/%5C%5Cevil.example", false},
		{"/%09/evil.example", false},
		{"/%0A/evil.example", false},
	} {
		t.Run("an open-redirect next "+strconv.Quote(tc.next)+" stays on this site", func(t *testing.T) {
			b := newBrowser(t, f.srv)
			a := b.login(users[i%len(users)], userPassword, tc.next)
			if a.Status != http.StatusSeeOther {
				t.Fatalf("sign in: %s", a)
			}
			loc := a.Location()
			if tc.exact && loc != "/" {
				t.Errorf("Location %q, want /", loc)
			}
			if u := browserTarget(base, loc); u == nil || u.Host != base.Host {
				t.Errorf(defect+"Location %q takes a browser to %v: dashboard.safeNext returns the unescaped "+
					"path (path.Clean(u.Path)), so %%5C and %%09 decode into '\\' and tab, and browsers read \"/\\\" and \"/<tab>/\" as \"//\"", loc, u)
			}
			// Signed in already, /login?next= redirects too.
			again := b.get("/login?next=" + url.QueryEscape(tc.next))
			if u := browserTarget(base, again.Location()); again.Status != http.StatusSeeOther || u == nil || u.Host != base.Host {
				t.Errorf("signed-in GET /login?next=…: %s", again)
			}
		})
	}
}

// browserTarget resolves a Location the way a browser's URL parser does (WHATWG: leading and
// trailing C0 controls and spaces dropped, tabs and newlines removed anywhere, '\' read as '/'
// in http(s) URLs, any run of slashes at the start read as "//"); nil when it does not parse.
func browserTarget(base *url.URL, loc string) *url.URL {
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
	if strings.HasPrefix(loc, "//") { // any number of slashes starts an authority
		loc = "//" + strings.TrimLeft(loc, "/")
	}
	u, err := base.Parse(loc)
	if err != nil {
		return nil
	}
	return u
}

// TestInviteLink: an invitation sets a password once.
func TestInviteLink(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	path := f.invite("acme", "ann@acme.example")
	b := newBrowser(t, f.srv)
	set := func(t *testing.T, pw, again string) answer {
		return b.on(t).postRaw(path, url.Values{"password": {pw}, "password_again": {again}}, nil)
	}

	t.Run("the invitation page names the invited email", func(t *testing.T) {
		if a := b.on(t).get(path); a.Status != http.StatusOK || !strings.Contains(a.Body, "ann@acme.example") {
			t.Errorf("GET %s: %s", path, a)
		}
	})
	for _, pw := range []string{"short-pw", "123456789", "ééééééééé"} {
		t.Run("a password of "+strconv.Itoa(len([]rune(pw)))+" characters ("+pw+") is refused with a message", func(t *testing.T) {
			a := set(t, pw, pw)
			if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "A password must be 10 to 256 characters") ||
				a.Cookie(sessionCookie) != nil {
				t.Errorf("set %q: %s", pw, a)
			}
		})
	}
	t.Run("two different passwords are refused with a message", func(t *testing.T) {
		a := set(t, "long-enough-1", "long-enough-2")
		if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "The two passwords differ.") {
			t.Errorf("set: %s", a)
		}
	})
	t.Run("the password is set once, and the user is signed in", func(t *testing.T) {
		a := set(t, userPassword, userPassword)
		if a.Status != http.StatusSeeOther || a.Location() != "/" || b.sessionID() == "" {
			t.Fatalf("set: %s", a)
		}
		if landed := b.on(t).follow(a); landed.Status != http.StatusOK || !strings.Contains(landed.Body, "ann@acme.example") {
			t.Errorf("landing: %s", landed)
		}
	})
	t.Run("the link is refused (404) once the password is set", func(t *testing.T) {
		other := newBrowser(t, f.srv)
		if a := other.get(path); a.Status != http.StatusNotFound {
			t.Errorf("GET %s: %s", path, a)
		}
		if a := other.postRaw(path, url.Values{"password": {"taken-over-123"}, "password_again": {"taken-over-123"}}, nil); a.Status != http.StatusNotFound || a.Cookie(sessionCookie) != nil {
			t.Errorf("POST %s: %s", path, a)
		}
		if a := newBrowser(t, f.srv).login("ann@acme.example", "taken-over-123", ""); a.Status != http.StatusUnauthorized {
			t.Errorf("the second POST changed the password: %s", a)
		}
		if a := newBrowser(t, f.srv).login("ann@acme.example", userPassword, ""); a.Status != http.StatusSeeOther {
			t.Errorf("the chosen password does not work: %s", a)
		}
	})
	t.Run("an unknown token is refused (404)", func(t *testing.T) {
		if a := newBrowser(t, f.srv).get("/invite/not-a-real-token"); a.Status != http.StatusNotFound {
			t.Errorf("GET: %s", a)
		}
	})
}

// TestEventsStreamOnlyOwnClient: GET /events tells a client user about the client's messages,
// and about nobody else's.
func TestEventsStreamOnlyOwnClient(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	f.client("globex")
	f.routeNumber("+15550001001", "acme")
	f.routeNumber("+15550002002", "globex")
	userA := f.clientUser("acme", "ann@acme.example")
	userB := f.clientUser("globex", "gus@globex.example")

	t.Run("a signed-out GET /events redirects to sign in", func(t *testing.T) {
		if a := newBrowser(t, f.srv).get("/events"); a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location(), "/login") {
			t.Errorf("GET /events: %s", a)
		}
	})

	streamA, streamB, streamOp := userA.events(), userB.events(), f.op.events()
	type data struct {
		ClientID       string `json:"client_id"`
		ConversationID string `json:"conversation_id"`
		MessageID      string `json:"message_id"`
	}
	// next waits up to 10 s for a "message" event of clientID on stream; others is every
	// other event it read on the way.
	next := func(t *testing.T, stream <-chan sse, clientID string) (got data, others []sse) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case ev, ok := <-stream:
				if !ok {
					t.Fatalf("the stream ended waiting for %s's message", clientID)
				}
				var d data
				if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
					t.Fatalf("event %+v: %v", ev, err)
				}
				if ev.Kind == "message" && d.ClientID == clientID {
					return d, others
				}
				others = append(others, ev)
			case <-timeout:
				t.Fatalf("no message event of %s within 10 s (read %v)", clientID, others)
			}
		}
	}

	// B's message first; once the operator's stream has it, the hub has handed it out.
	f.inject("+15557770002", "+15550002002", "for globex only")
	next(t, streamOp, "globex")
	gotB, _ := next(t, streamB, "globex")
	f.inject("+15557770001", "+15550001001", "for acme")
	gotA, before := next(t, streamA, "acme")

	t.Run("client A's stream has an event when A's message arrives", func(t *testing.T) {
		if conv := f.on(t).conversationOf(acme.APIKey, "+15557770001"); gotA.ConversationID != conv || gotA.MessageID == "" {
			t.Errorf("event data %+v, want conversation %s", gotA, conv)
		}
	})
	t.Run("client A's stream has no event of client B", func(t *testing.T) {
		leaked := before
		// Whatever else arrives in a moment must be A's too.
		grace := time.After(300 * time.Millisecond)
	drain:
		for {
			select {
			case ev, ok := <-streamA:
				if !ok {
					break drain
				}
				leaked = append(leaked, ev)
			case <-grace:
				break drain
			}
		}
		for _, ev := range leaked {
			var d data
			json.Unmarshal([]byte(ev.Data), &d) //nolint:errcheck
			if d.ClientID != "acme" {
				t.Errorf("A's stream carried %s event %s", ev.Kind, ev.Data)
			}
		}
	})
	t.Run("client B's stream has B's event (control)", func(t *testing.T) {
		if gotB.MessageID == "" {
			t.Errorf("event data %+v", gotB)
		}
	})
	t.Run("the operator's stream has both clients' events (control)", func(t *testing.T) {
		next(t, streamOp, "acme")
	})
}
