package api_test

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

type contactAnswer struct {
	ID        string            `json:"id"`
	Phone     string            `json:"phone"`
	FirstName string            `json:"first_name"`
	Business  string            `json:"business"`
	Fields    map[string]string `json:"fields"`
	Tags      []string          `json:"tags"`
}

func TestContactsSearchTagsAndEdits(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	add := func(body map[string]any) contactAnswer {
		var c contactAnswer
		mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, body, http.StatusCreated).JSON(t, &c)
		return c
	}
	ann := add(map[string]any{"phone": "+15553200001", "first_name": "Ann", "business": "Bakery 100%", "tags": []string{"vip", " spring ", "vip"}})
	add(map[string]any{"phone": "+15553200002", "first_name": "Bo", "business": "Garage"})
	if !slices.Equal(ann.Tags, []string{"spring", "vip"}) {
		t.Errorf("tags = %q, want trimmed, unique, sorted", ann.Tags)
	}
	list := func(query string) []string {
		var pg struct {
			Data []contactAnswer `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/contacts"+query, acme.APIKey, nil, http.StatusOK).JSON(t, &pg)
		var names []string
		for _, c := range pg.Data {
			names = append(names, c.FirstName)
		}
		return names
	}
	for query, want := range map[string][]string{
		"?q=ann": {"Ann"}, "?q=GARAGE": {"Bo"}, "?q=3200002": {"Bo"}, "?q=100%25": {"Ann"}, "?q=_": nil,
		"?tag=vip": {"Ann"}, "?tag=vip&q=bo": nil, "": {"Bo", "Ann"},
	} {
		if got := list(query); !slices.Equal(got, want) {
			t.Errorf("GET /api/v1/contacts%s = %q, want %q", query, got, want)
		}
	}
	t.Run("PATCH changes what it names and keeps the rest", func(t *testing.T) {
		var c contactAnswer
		mustDo(t, s, "PATCH", "/api/v1/contacts/"+ann.ID, acme.APIKey, map[string]any{"first_name": "Anne", "tags": []string{"b2b"},
			"fields": map[string]string{"City": "Oslo"}}, http.StatusOK).JSON(t, &c)
		if c.FirstName != "Anne" || c.Business != "Bakery 100%" || !slices.Equal(c.Tags, []string{"b2b"}) || c.Fields["City"] != "Oslo" {
			t.Errorf("contact = %+v", c)
		}
		wantError(t, s.Do("PATCH", "/api/v1/contacts/"+ann.ID, acme.APIKey, map[string]any{"phone": "+15553200002"}), 409, "contact_exists", "phone")
		wantError(t, s.Do("PATCH", "/api/v1/contacts/"+ann.ID, acme.APIKey, map[string]any{"phone": "12"}), 400, "invalid_field", "phone")
		wantError(t, s.Do("PATCH", "/api/v1/contacts/"+ann.ID, acme.APIKey, map[string]any{"tags": []string{""}}), 400, "invalid_field", "tags")
		if got := list("?tag=vip"); got != nil {
			t.Errorf("old tag still finds %q", got)
		}
	})
}

func readCSV(t *testing.T, res ibikitest.Response) [][]string {
	t.Helper()
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s %s", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestContactExports(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme, globex := s.CreateClient("acme", ""), s.CreateClient("globex", "")
	mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15553300001", "first_name": "=HYPERLINK(\"x\")",
		"last_name": "-5", "business": "@acme", "fields": map[string]string{"Plan": "+gold", "City": "Oslo"}, "tags": []string{"vip"}}, http.StatusCreated)
	mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15553300002", "first_name": "Bo"}, http.StatusCreated)
	mustDo(t, s, "POST", "/api/v1/contacts", globex.APIKey, map[string]any{"phone": "+15553300003", "first_name": "Cy"}, http.StatusCreated)

	t.Run("the full export has every field, formulas neutralised, phones intact", func(t *testing.T) {
		rows := readCSV(t, s.Do("GET", "/api/v1/contacts/export", acme.APIKey, nil))
		want := [][]string{
			{"phone", "first_name", "last_name", "business", "tags", "City", "Plan"},
			{"+15553300001", `'=HYPERLINK("x")`, "'-5", "'@acme", "vip", "Oslo", "'+gold"},
			{"+15553300002", "Bo", "", "", "", "", ""},
		}
		if !slices.EqualFunc(rows, want, slices.Equal) {
			t.Errorf("export:\n%q\nwant\n%q", rows, want)
		}
	})
	t.Run("the ExtremeSMS export is exactly the file to upload", func(t *testing.T) {
		res := s.Do("GET", "/api/v1/contacts/export?format=extremesms", acme.APIKey, nil)
		if string(res.Body) != "Phone Number,Business\n+15553300001,acme\n+15553300002,acme\n" {
			t.Errorf("export = %q", res.Body)
		}
	})
	t.Run("the operator exports every client's contacts", func(t *testing.T) {
		res := s.Do("GET", "/admin/v1/contacts/export?format=extremesms", ibikitest.AdminToken, nil)
		if string(res.Body) != "Phone Number,Business\n+15553300001,acme\n+15553300002,acme\n+15553300003,globex\n" {
			t.Errorf("export = %q", res.Body)
		}
		rows := readCSV(t, s.Do("GET", "/admin/v1/contacts/export", ibikitest.AdminToken, nil))
		if len(rows) != 4 || rows[0][0] != "client_id" || rows[3][0] != "globex" {
			t.Errorf("export = %q", rows)
		}
		wantError(t, s.Do("GET", "/admin/v1/contacts/export?client_id=nobody", ibikitest.AdminToken, nil), 400, "invalid_field", "client_id")
		wantError(t, s.Do("GET", "/api/v1/contacts/export?format=xls", acme.APIKey, nil), 400, "invalid_field", "format")
	})
}

func TestOnePhoneOneClient(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme, globex := s.CreateClient("acme", ""), s.CreateClient("globex", "")
	mustDo(t, s, "POST", "/api/v1/contacts", globex.APIKey, map[string]any{"phone": "+15553700001"}, http.StatusCreated)
	wantError(t, s.Do("POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15553700001"}),
		http.StatusConflict, "phone_belongs_to_another_client", "phone")
	var c contactAnswer
	mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]any{"phone": "+15553700002"}, http.StatusCreated).JSON(t, &c)
	wantError(t, s.Do("PATCH", "/api/v1/contacts/"+c.ID, acme.APIKey, map[string]any{"phone": "+15553700001"}),
		http.StatusConflict, "phone_belongs_to_another_client", "phone")
}
