// Package dashboard is the web interface for operators and client staff: server-rendered
// pages (html/template) with htmx for partial updates and Server-Sent Events for live ones.
// Templates and static files are embedded: `go build` needs no Node and the pages load nothing
// from outside the server.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/campaign"
	"github.com/ibiki/ibiki/internal/importer"
	"github.com/ibiki/ibiki/internal/inbound"
	"github.com/ibiki/ibiki/internal/live"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Dashboard serves the web interface.
type Dashboard struct {
	Store     *store.Store
	Sessions  *auth.Sessions
	Accounts  *auth.Accounts
	Limiter   *auth.LoginLimiter
	Hub       *live.Hub
	Tenants   *tenant.Service
	Outbound  *outbound.Service
	Inbound   *inbound.Service
	Campaigns *campaign.Service
	Importer  *importer.Service
	// Providers are the configured providers; the simulator among them lets the operator inject
	// a contact's reply from the console.
	Providers *provider.Registry
	// PublicURL is the address providers and people reach Ibiki at ("" = the request's host);
	// the setup page and invitation links use it.
	PublicURL           string
	CampaignReplyWindow time.Duration
	Region              string
	Clock               func() time.Time
	Log                 *slog.Logger

	pages map[string]*template.Template
	// SMPP counts the binds clients hold on the SMPP server (nil: it does not listen).
	SMPP BindCounter
}

// view is what a signed-in request carries into a handler.
type view struct {
	Session model.Session
	User    model.User
	Client  model.Client // the client of a client user
}

type handler func(w http.ResponseWriter, r *http.Request, v *view) error

// Mux is what Register adds routes to: http.ServeMux's registration methods (server.Mux, the
// same interface literal, which the server records).
type Mux = interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds the dashboard's routes to mux.
func (d *Dashboard) Register(mux Mux) {
	d.pages = parsePages()
	cop := http.NewCrossOriginProtection()
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, secureHeaders(d.Sessions.Secure, cop.Handler(h)))
	}
	public := func(pattern string, h http.HandlerFunc) { handle(pattern, d.plainPublic(h)) }
	anyone := func(pattern string, h handler) { handle(pattern, d.signedIn("", h)) }
	operator := func(pattern string, h handler) { handle(pattern, d.signedIn(model.RoleOperator, h)) }
	client := func(pattern string, h handler) { handle(pattern, d.signedIn(model.RoleClient, h)) }

	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})))

	public("GET /login", d.loginPage)
	public("POST /login", d.login)
	public("GET /invite/{token}", d.invitePage)
	public("POST /invite/{token}", d.acceptInvite)
	// Signing out works for everyone signed in, a user of a deactivated client too.
	handle("POST /logout", d.signedInAllowInactive(d.logout))
	handle("POST /logout-everywhere", d.signedInAllowInactive(d.logoutEverywhere))
	anyone("GET /{$}", d.home)
	anyone("GET /account", d.accountPage)
	anyone("POST /account/password", d.changePassword)
	anyone("GET /events", d.events)

	d.registerOperator(operator)
	d.registerClient(client)
	d.registerShared(anyone)
}

// signedIn wraps h: the request needs a live session (and role, unless ""), and a valid CSRF
// token when it changes something. A page of the other role answers 404, like a missing one.
func (d *Dashboard) signedIn(role model.Role, h handler) http.Handler {
	return d.session(role, false, h)
}

// signedInAllowInactive is signedIn for any role, letting in users of a deactivated client.
func (d *Dashboard) signedInAllowInactive(h handler) http.Handler { return d.session("", true, h) }

func (d *Dashboard) session(role model.Role, allowInactive bool, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, u, err := d.Sessions.Load(r.Context(), r)
		if errors.Is(err, auth.ErrNoSession) {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			w.Header().Set("HX-Redirect", "/login")
			d.errorPage(w, r, nil, http.StatusUnauthorized, "Your session has ended: sign in again.")
			return
		}
		if err != nil {
			d.fail(w, r, nil, err)
			return
		}
		v := &view{Session: sess, User: u}
		if role != "" && u.Role != role {
			d.errorPage(w, r, v, http.StatusNotFound, "")
			return
		}
		if u.Role == model.RoleClient {
			if v.Client, err = d.Store.Client(r.Context(), u.ClientID); err != nil {
				d.fail(w, r, v, err)
				return
			}
			if !v.Client.Active && !allowInactive {
				d.errorPage(w, r, nil, http.StatusForbidden, "This client account is deactivated. Ask your operator.")
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// Read the form (an upload spills to temporary files) before the token in it.
			if err := r.ParseMultipartForm(32 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				var mb *http.MaxBytesError
				if errors.As(err, &mb) {
					d.errorPage(w, r, v, http.StatusRequestEntityTooLarge, fmt.Sprintf("The upload is too large: at most %d MB.", mb.Limit>>20))
					return
				}
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !auth.ValidCSRF(r, sess) {
			d.errorPage(w, r, v, http.StatusForbidden, "This form is out of date or came from another site. Reload the page and try again.")
			return
		}
		if !d.plainText(w, r, v) {
			return
		}
		if err := h(w, r, v); err != nil {
			d.fail(w, r, v, err)
		}
	})
}

// maintainEvery is how often Maintain tidies up.
const maintainEvery = 10 * time.Minute

// Maintain deletes, every ten minutes until ctx ends, the sessions that have ended and the
// uploads nobody finished mapping (importer.ExpireUploads).
func (d *Dashboard) Maintain(ctx context.Context) {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := errors.Join(d.Sessions.DeleteEnded(ctx), d.Importer.ExpireUploads(ctx))
			if err != nil && ctx.Err() == nil {
				d.Log.Warn("dashboard: tidying sessions and uploads", "error", err)
			}
		}
	}
}

// secureHeaders sets the headers every dashboard page carries: nothing loads from elsewhere,
// no framing, no MIME sniffing.
// secure (an https public URL) is recorded in the request for the cookies set on the answer.
func secureHeaders(secure bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if secure {
			r = r.WithContext(context.WithValue(r.Context(), secureKey{}, true))
		}
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
			"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// home is "/": the operator's console (clients first) or the client's conversations.
func (d *Dashboard) home(w http.ResponseWriter, r *http.Request, v *view) error {
	if v.User.Role == model.RoleOperator {
		return d.listClients(w, r, v)
	}
	return d.listConversations(w, r, v)
}

// fail answers an error from a handler: a missing (or another client's) thing is 404, anything
// else is logged and 500.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	if errors.Is(err, store.ErrNotFound) {
		d.errorPage(w, r, v, http.StatusNotFound, "")
		return
	}
	d.Log.Error("dashboard", "path", r.URL.Path, "error", err)
	d.errorPage(w, r, v, http.StatusInternalServerError, "Something went wrong on our side. It has been logged; try again in a moment.")
}

func (d *Dashboard) errorPage(w http.ResponseWriter, r *http.Request, v *view, status int, msg string) {
	if msg == "" {
		msg = "There is nothing here. It may have been removed, or the link is wrong."
	}
	d.render(w, r, v, status, "error", "Error", map[string]any{"Status": status, "Message": msg})
}

// safeNext keeps a post-login redirect on this site: a path of this server, without a scheme,
// a host, backslashes or control characters (browsers read "/\\evil" and "/\tevil" as other hosts).
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	for _, s := range []string{next, u.Path} {
		if strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "/"
		}
	}
	clean := path.Clean(u.Path)
	if strings.HasPrefix(clean, "//") {
		return "/"
	}
	if u.RawQuery != "" {
		clean += "?" + u.RawQuery
	}
	return clean
}

func (d *Dashboard) baseURL(r *http.Request) string {
	if d.PublicURL != "" {
		return strings.TrimRight(d.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
