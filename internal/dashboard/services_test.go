package dashboard_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// goodSpec is a service's spec as a client writes it in the form: "1" answers a text, "2"
// starts a one-step flow.
const goodSpec = `{
  "commands": [
    {"keyword": "1", "action": {"type": "reply", "text": "Open 9 to 5, [firstname|friend]."}},
    {"keyword": "2", "action": {"type": "flow", "flow": "register"}}
  ],
  "flows": {"register": {"steps": [{"id": "name", "prompt": "Your name?", "contact": "name"}],
    "complete": {"type": "reply", "text": "Thanks [firstname]!"}}}
}`

var serviceLink = regexp.MustCompile(`href="/services/(svc_[A-Za-z0-9]+)"`)

// A client sets up a service on its short code in the dashboard: a bad spec is shown back with
// the error naming its field as the API names it, a good one is listed, edited, paused and
// activated; its log shows a contact's message answered; another client sees none of it; the
// operator sees it, with its client, and its log, pauses it, and puts a service on a pool
// number; then the client deletes it.
func TestServicesPages(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	f.admin("POST", "/admin/v1/clients/acme/credits", map[string]any{"amount_cents": 1000}, http.StatusOK)
	f.routeNumber("57675", "acme")
	user := f.clientUser("acme", "ann@acme.example")

	page := user.get("/services")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `<option value="57675"`) || !strings.Contains(page.Body, "No services") ||
		!strings.Contains(page.Body, `&#34;flows&#34;`) || !strings.Contains(page.Body, `href="/services"`) {
		t.Fatalf("empty page (the number to choose, the example spec, the menu link): %s", page)
	}
	form := func(spec string) url.Values {
		return url.Values{"number": {"57675"}, "name": {"Front desk"}, "spec": {spec}, "active": {"on"}}
	}
	var id string
	t.Run("a bad spec is shown back with the field it names", func(t *testing.T) {
		bad := strings.Replace(goodSpec, `"text": "Open 9 to 5, [firstname|friend]."`, `"text": ""`, 1)
		a := user.on(t).postForm("/services", form(bad))
		if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, `data-field="commands[0].action.text"`) ||
			!strings.Contains(a.Body, "commands[0].action.text: a reply needs its text") {
			t.Fatalf("answer: %s", a)
		}
		if !strings.Contains(a.Body, html.EscapeString(`"text": ""`)) || !strings.Contains(a.Body, `value="Front desk"`) {
			t.Errorf("the form is not written back")
		}
		flow := strings.Replace(goodSpec, `"prompt": "Your name?"`, `"prompt": "Your name?", "next": "nowhere"`, 1)
		if a := user.on(t).postForm("/services", form(flow)); !strings.Contains(a.Body, `flows.register.steps[0].next: no step &#34;nowhere&#34; in this flow`) {
			t.Errorf("a flow's error: %s", a)
		}
		if a := user.on(t).postForm("/services", form(`{"commands": [`)); a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "spec: the spec is not valid JSON") {
			t.Errorf("broken JSON: %s", a)
		}
		if a := user.on(t).postForm("/services", form(`{"commands": [], "colour": "red"}`)); !strings.Contains(a.Body, "unknown field colour") {
			t.Errorf("an unknown field: %s", a)
		}
		if a := user.on(t).postForm("/services", url.Values{"number": {"+15550009999"}, "spec": {goodSpec}}); !strings.Contains(a.Body, `data-field="number"`) {
			t.Errorf("a number not the client's: %s", a)
		}
		if res := f.api(acme.APIKey, "GET", "/api/v1/services", nil, http.StatusOK); !strings.Contains(string(res.Body), `"data":[]`) {
			t.Errorf("a refused service is saved: %s", res.Body)
		}
	})
	t.Run("a good one is saved and listed", func(t *testing.T) {
		a := user.on(t).postForm("/services", form(goodSpec))
		if a.Status != http.StatusSeeOther {
			t.Fatalf("create: %s", a)
		}
		list := user.on(t).follow(a).Body
		m := serviceLink.FindStringSubmatch(list)
		if m == nil || !strings.Contains(list, "Service saved on 57675.") || !strings.Contains(list, "Front desk") ||
			!strings.Contains(list, `<td class="num">2</td>`) || !strings.Contains(list, "s-active") {
			t.Fatalf("the list after saving: %s", list)
		}
		id = m[1]
		res := f.api(acme.APIKey, "GET", "/api/v1/services/"+id, nil, http.StatusOK)
		if !strings.Contains(string(res.Body), `"name":"Front desk"`) || !strings.Contains(string(res.Body), `"active":true`) {
			t.Errorf("the API sees %s", res.Body)
		}
		if a := user.on(t).postForm("/services", form(goodSpec)); a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "has a service already") {
			t.Errorf("a second service on the number: %s", a)
		}
	})
	if id == "" {
		t.FailNow()
	}
	t.Run("edit", func(t *testing.T) {
		page := user.on(t).get("/services/" + id)
		// The spec is shown indented, with the defaults the check filled (match).
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "\n  &#34;commands&#34;: [") || !strings.Contains(page.Body, `&#34;match&#34;: &#34;only_word&#34;`) {
			t.Fatalf("the edit page: %s", page)
		}
		bad := strings.Replace(goodSpec, `"flow": "register"`, `"flow": "signup"`, 1)
		a := user.on(t).postForm("/services/"+id, url.Values{"name": {"Desk"}, "spec": {bad}})
		if a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, `commands[1].action.flow: no flow is named &#34;signup&#34; in flows`) {
			t.Errorf("a bad edit: %s", a)
		}
		a = user.on(t).postForm("/services/"+id, url.Values{"name": {"Desk"}, "spec": {strings.Replace(goodSpec, "Open 9 to 5", "Open 8 to 6", 1)}})
		if a.Status != http.StatusSeeOther {
			t.Fatalf("edit: %s", a)
		}
		if body := user.on(t).follow(a).Body; !strings.Contains(body, "Service saved.") || !strings.Contains(body, "Open 8 to 6") || !strings.Contains(body, `value="Desk"`) {
			t.Errorf("after the edit: %s", body)
		}
	})
	t.Run("pause and activate", func(t *testing.T) {
		a := user.on(t).postForm("/services/"+id+"/active", url.Values{"active": {"false"}, "back": {"/services"}})
		if a.Status != http.StatusSeeOther || a.Location() != "/services" {
			t.Fatalf("pause: %s", a)
		}
		if body := user.on(t).follow(a).Body; !strings.Contains(body, "s-paused") || !strings.Contains(body, "Activate") {
			t.Errorf("the list after pausing: %s", body)
		}
		if res := f.api(acme.APIKey, "GET", "/api/v1/services/"+id, nil, http.StatusOK); !strings.Contains(string(res.Body), `"active":false`) {
			t.Errorf("the API sees %s", res.Body)
		}
		if a := user.on(t).postForm("/services/"+id+"/active", url.Values{"active": {"true"}, "back": {"https://evil.example/"}}); a.Status != http.StatusSeeOther || a.Location() != "/services/"+id {
			t.Errorf("activate: %s", a)
		}
		if res := f.api(acme.APIKey, "GET", "/api/v1/services/"+id, nil, http.StatusOK); !strings.Contains(string(res.Body), `"active":true`) {
			t.Errorf("the API sees %s", res.Body)
		}
	})
	t.Run("the log shows an exchange", func(t *testing.T) {
		if body := user.on(t).get("/services/" + id + "/log").Body; !strings.Contains(body, "Nothing yet") {
			t.Errorf("the empty log: %s", body)
		}
		f.on(t).inject("+15550001111", "57675", "1")
		var body string
		waitFor(t, "the exchange in the log", func() bool {
			body = user.on(t).get("/services/" + id + "/log").Body
			return strings.Contains(body, `class="exchange"`)
		})
		for _, want := range []string{`<td class="phone">&#43;15550001111</td>`, `<code>1</code>`, `<td class="handled">yes</td>`,
			"Open 8 to 6, friend.", `href="/conversations/`} {
			if !strings.Contains(body, want) {
				t.Errorf("the log lacks %q: %s", want, body)
			}
		}
	})
	t.Run("another client sees none of it", func(t *testing.T) {
		f.client("globex")
		other := f.on(t).clientUser("globex", "gil@globex.example")
		if body := other.get("/services").Body; strings.Contains(body, id) || strings.Contains(body, "57675") {
			t.Errorf("globex's list shows acme's service")
		}
		for _, p := range []string{"/services/" + id, "/services/" + id + "/log"} {
			if a := other.get(p); a.Status != http.StatusNotFound {
				t.Errorf("GET %s: %s", p, a)
			}
		}
		for p, v := range map[string]url.Values{"/services/" + id: {"name": {"x"}, "spec": {goodSpec}},
			"/services/" + id + "/active": {"active": {"false"}}, "/services/" + id + "/delete": nil} {
			if a := other.postForm(p, v); a.Status != http.StatusNotFound {
				t.Errorf("POST %s: %s", p, a)
			}
		}
		if a := other.postForm("/services", form(goodSpec)); a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "57675 is not one of your numbers") {
			t.Errorf("globex puts a service on acme's number: %s", a)
		}
		if res := f.api(acme.APIKey, "GET", "/api/v1/services/"+id, nil, http.StatusOK); !strings.Contains(string(res.Body), `"active":true`) || !strings.Contains(string(res.Body), `"name":"Desk"`) {
			t.Errorf("after globex's tries the API sees %s", res.Body)
		}
	})
	t.Run("the operator sees every client's services and logs", func(t *testing.T) {
		op := f.op.on(t)
		list := op.get("/services?client=acme")
		if list.Status != http.StatusOK || !strings.Contains(list.Body, `href="/clients/acme"`) || !strings.Contains(list.Body, `href="/services/`+id+`"`) {
			t.Fatalf("the operator's list: %s", list)
		}
		if body := op.get("/services?client=globex").Body; strings.Contains(body, id) {
			t.Errorf("the filter for globex shows acme's service")
		}
		if a := op.get("/services/" + id + "/log"); a.Status != http.StatusOK || !strings.Contains(a.Body, "15550001111") || strings.Contains(a.Body, `href="/conversations/`) {
			t.Errorf("the operator's log (no link to the client's conversations): %s", a)
		}
		if a := op.postForm("/services/"+id+"/active", url.Values{"active": {"false"}}); a.Status != http.StatusSeeOther {
			t.Errorf("the operator pauses acme's service: %s", a)
		}
		if res := f.api(acme.APIKey, "GET", "/api/v1/services/"+id, nil, http.StatusOK); !strings.Contains(string(res.Body), `"active":false`) {
			t.Errorf("after the operator's pause the API sees %s", res.Body)
		}
		op.postForm("/services/"+id+"/active", url.Values{"active": {"true"}})
		if a := op.postForm("/services", url.Values{"client_id": {"acme"}, "number": {"57675"}, "spec": {goodSpec}}); a.Status != http.StatusUnprocessableEntity || !strings.Contains(a.Body, "has a service already") {
			t.Errorf("the operator adds a second service on acme's number: %s", a)
		}
		if a := op.postForm("/services", url.Values{"client_id": {""}, "number": {"57675"}, "spec": {goodSpec}}); !strings.Contains(a.Body, "57675 is dedicated to a client") {
			t.Errorf("the operator puts a pool service on acme's number: %s", a)
		}
		f.on(t).admin("POST", "/admin/v1/numbers", map[string]string{"number": "+15550002222"}, http.StatusCreated)
		a := op.postForm("/services", url.Values{"client_id": {""}, "number": {"+15550002222"}, "name": {"Pool menu"}, "spec": {goodSpec}, "active": {"on"}})
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Location(), "/services/svc_") {
			t.Fatalf("the operator's pool service: %s", a)
		}
		if body := op.get("/services?client=pool").Body; !strings.Contains(body, "Pool menu") || strings.Contains(body, `href="/services/`+id+`"`) {
			t.Errorf("the pool filter: %s", body)
		}
		if body := user.on(t).get("/services").Body; strings.Contains(body, "Pool menu") {
			t.Errorf("acme sees the operator's pool service")
		}
	})
	t.Run("delete", func(t *testing.T) {
		if body := user.on(t).get("/services/" + id).Body; !strings.Contains(body, `<details class="card" id="delete-service">`) {
			t.Errorf("the delete button is not behind its confirmation")
		}
		a := user.on(t).postForm("/services/"+id+"/delete", nil)
		if a.Status != http.StatusSeeOther {
			t.Fatalf("delete: %s", a)
		}
		if body := user.on(t).follow(a).Body; !strings.Contains(body, "Service on 57675 deleted.") || strings.Contains(body, `class="service"`) {
			t.Errorf("the list after deleting: %s", body)
		}
		f.api(acme.APIKey, "GET", "/api/v1/services/"+id, nil, http.StatusNotFound)
		if a := user.on(t).get("/services/" + id); a.Status != http.StatusNotFound {
			t.Errorf("the deleted service's page: %s", a)
		}
	})
}
