package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var importToken = regexp.MustCompile(`action="/contacts/import/([A-Z2-7]+)"`)

// The mapping step is the person's choice, column by column: a column kept as a custom field
// stays custom even when its header is a field's name, and an ignored column is ignored even
// when its header would be recognised.
func TestImportMappingIsWhatThePersonChose(t *testing.T) {
	f := newFixture(t, nil)
	acme := f.client("acme")
	user := f.clientUser("acme", "ann@acme.example")
	csv := "Mobile,Phone,First Name\n+15559992002,+15550002002,Ann\n,+15550002003,Bob\n"
	up := user.postFile("/contacts/import", "clash.csv", csv, url.Values{"tag": {"t"}})
	m := importToken.FindStringSubmatch(up.Body)
	if up.Status != http.StatusOK || m == nil {
		t.Fatalf("upload: %s", up)
	}
	res := user.postForm("/contacts/import/"+m[1], url.Values{"name": {"clash.csv"}, "tag": {"t"},
		"col1": {"phone"}, "name1": {"Mobile"}, "col2": {""}, "name2": {"Phone"}, "col3": {"-"}, "name3": {"First Name"}})
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `id="imported">1<`) {
		t.Fatalf("import: %s", res)
	}
	if !strings.Contains(res.Body, "3") || !strings.Contains(res.Body, "phone is empty") {
		t.Errorf("the row without a Mobile is not reported (line 3, phone is empty): %s", res.Body)
	}
	var pg struct {
		Data []struct {
			Phone     string            `json:"phone"`
			FirstName string            `json:"first_name"`
			Fields    map[string]string `json:"fields"`
		} `json:"data"`
	}
	if err := json.Unmarshal(f.api(acme.APIKey, "GET", "/api/v1/contacts", nil, http.StatusOK).Body, &pg); err != nil {
		t.Fatal(err)
	}
	if len(pg.Data) != 1 || pg.Data[0].Phone != "+15559992002" || pg.Data[0].FirstName != "" ||
		pg.Data[0].Fields["Phone (column 2)"] != "+15550002002" {
		t.Errorf("contacts = %+v, want the Mobile number, no first name (ignored), and the Phone column as a custom field", pg.Data)
	}
}

// A file of a hundred thousand columns is refused at the mapping step, not rendered.
func TestImportPreviewRefusesRunawayColumns(t *testing.T) {
	f := newFixture(t, nil)
	f.client("acme")
	user := f.clientUser("acme", "ann@acme.example")
	up := user.postFile("/contacts/import", "wide.csv", "phone,name\n+15550000001,"+strings.Repeat(",", 99_000)+"\n", nil)
	if up.Status != http.StatusUnprocessableEntity || !strings.Contains(up.Body, "columns") || len(up.Body) > 100_000 {
		t.Errorf("a 99,000-column file: %d, %d bytes", up.Status, len(up.Body))
	}
}
