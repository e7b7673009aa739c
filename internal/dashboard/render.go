package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/model"
)

// page is what every template gets.
type page struct {
	Title string
	User  model.User
	// Client is the signed-in client user's client.
	Client model.Client
	CSRF   string
	Flash  string
	Data   any
}

// IsOperator is used by the layout to pick the navigation.
func (p page) IsOperator() bool { return p.User.Role == model.RoleOperator }

var funcs = template.FuncMap{
	"cents": formatCents,
	"chart": chart,
	// when shows a time in UTC, marked up so that app.js shows it in the viewer's time zone.
	"when": func(t time.Time) template.HTML {
		if t.IsZero() {
			return "—"
		}
		u := t.UTC()
		return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `">` + u.Format("2006-01-02 15:04:05 UTC") + `</time>`)
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		d := time.Since(t)
		switch {
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return fmt.Sprintf("%d min ago", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%d h ago", int(d.Hours()))
		}
		return t.UTC().Format("2 Jan 2006")
	},
	"pct": func(part, whole int64) int64 {
		if whole <= 0 {
			return 0
		}
		return part * 100 / whole
	},
	"add":       func(a, b int) int { return a + b },
	"hasPrefix": strings.HasPrefix,
	// call is what a call's message knows of the call (nil for any other message).
	"call": func(m model.Message) *model.CallInfo {
		if c, ok := model.DecodeCallInfo(m.Meta); ok && m.Channel == model.ChannelVoice {
			return &c
		}
		return nil
	},
	"mul4": func(v int64) int64 { return v * 4 },
	"addPct": func(a, b, whole int64) int64 {
		if whole <= 0 {
			return 0
		}
		return (a + b) * 100 / whole
	},
	"csrfField": func(token string) template.HTML {
		return template.HTML(`<input type="hidden" name="` + auth.CSRFField + `" value="` + template.HTMLEscapeString(token) + `">`)
	},
}

// formatCents writes integer cents as dollars: 1234 → "$12.34", -5 → "-$0.05".
func formatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// parsePages parses each page template together with the layout and the shared partials.
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", n))
	}
	return pages
}

// render writes a whole page (the layout around the page's "content").
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, v *view, status int, name, title string, data any) {
	d.execute(w, r, v, status, name, "layout", title, data)
}

// fragment writes one named template of a page alone (an htmx swap).
func (d *Dashboard) fragment(w http.ResponseWriter, r *http.Request, v *view, name, block string, data any) {
	d.execute(w, r, v, http.StatusOK, name, block, "", data)
}

func (d *Dashboard) execute(w http.ResponseWriter, r *http.Request, v *view, status int, name, block, title string, data any) {
	t, ok := d.pages[name]
	if !ok {
		panic("dashboard: no template " + name)
	}
	p := page{Title: title, Data: data}
	if block == "layout" { // a fragment (an htmx refresh) must not use up the next page's message
		p.Flash = takeFlash(w, r)
	}
	if v != nil {
		p.User, p.Client, p.CSRF = v.User, v.Client, v.Session.CSRFToken
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		d.Log.Error("dashboard: template", "page", name, "block", block, "error", err)
		http.Error(w, "page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

const flashCookie = "ibiki_flash"

// flash shows msg on the next page this browser loads (after a redirect).
func flash(w http.ResponseWriter, r *http.Request, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureRequest(r)})
}

// secureRequest reports whether cookies set on r's answer should be Secure: it came over TLS,
// or the server is configured with an https public URL (see auth.Sessions.Secure, which the
// middleware records in the request).
func secureRequest(r *http.Request) bool {
	sec, _ := r.Context().Value(secureKey{}).(bool)
	return sec || r.TLS != nil
}

type secureKey struct{}

func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secureRequest(r)})
	msg, _ := url.QueryUnescape(c.Value)
	return msg
}

// redirect sends the browser to target after a form post (or tells htmx to).
func redirect(w http.ResponseWriter, r *http.Request, target, msg string) {
	if msg != "" {
		flash(w, r, msg)
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
