package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

type importReport struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	Imported      int64  `json:"imported"`
	Updated       int64  `json:"updated"`
	Duplicates    int64  `json:"duplicates"`
	InvalidCount  int64  `json:"invalid_count"`
	ConflictCount int64  `json:"conflict_count"`
	Invalid       []struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	} `json:"invalid"`
	Conflicts []struct {
		Line  int    `json:"line"`
		Phone string `json:"phone"`
	} `json:"conflicts"`
}

// upload posts a multipart import with the file and the form fields.
func upload(t *testing.T, s *ibikitest.Server, key, file string, fields map[string]string) ibikitest.Response {
	t.Helper()
	return postMultipart(t, s, "/api/v1/contacts/import", key, file, fields)
}

// postMultipart posts form fields and (when not empty) a CSV file field named file.
func postMultipart(t *testing.T, s *ibikitest.Server, path, key, file string, fields map[string]string) ibikitest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("file", "contacts.csv")
		io.WriteString(fw, file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", s.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return ibikitest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func TestImportContacts(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	globex := s.CreateClient("globex", "")
	mustDo(t, s, "POST", "/api/v1/contacts", acme.APIKey, map[string]string{"phone": "+15553100002", "first_name": "Old"}, http.StatusCreated)
	mustDo(t, s, "POST", "/api/v1/contacts", globex.APIKey, map[string]string{"phone": "+15553100005"}, http.StatusCreated)

	file := "\xEF\xBB\xBFPhone Number;First Name;Business;City\r\n" +
		"+15553100001;Ann;Acme;Paris\r\n" + // 2: new
		"(555) 310-0002;Bo;;Rome\r\n" + // 3: already acme's: updated
		"+15553100001;Ann again;;\r\n" + // 4: duplicate of line 2
		"12345;Cy;;\r\n" + // 5: invalid
		"\r\n" + // 6: blank
		"+15553100005;Di;;\r\n" + // 7: globex's: conflict
		"\"+1 555 310 0006\";\"Lee; Eve\";;\"Oslo\r\nNorth\"\r\n" + // 8-9: new, quoted
		";Nobody;;\r\n" // 10: no phone
	res := upload(t, s, acme.APIKey, file, map[string]string{"tag": "spring", "mapping": `{"business":"Business"}`})
	if res.Status != http.StatusOK {
		t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	var rep importReport
	res.JSON(t, &rep)
	if rep.Status != "completed" || rep.Imported != 2 || rep.Updated != 1 || rep.Duplicates != 1 || rep.InvalidCount != 2 || rep.ConflictCount != 1 {
		t.Errorf("report = %s", res.Body)
	}
	var lines []int
	for _, i := range rep.Invalid {
		lines = append(lines, i.Line)
	}
	if !slices.Equal(lines, []int{5, 10}) || len(rep.Conflicts) != 1 || rep.Conflicts[0].Line != 7 {
		t.Errorf("invalid lines %v, conflicts %+v", lines, rep.Conflicts)
	}

	t.Run("the contacts are there, updated, with custom fields", func(t *testing.T) {
		var pg struct {
			Data []struct {
				Phone     string            `json:"phone"`
				FirstName string            `json:"first_name"`
				Business  string            `json:"business"`
				Fields    map[string]string `json:"fields"`
			} `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/contacts", acme.APIKey, nil, http.StatusOK).JSON(t, &pg)
		got := map[string]string{}
		for _, c := range pg.Data {
			got[c.Phone] = c.FirstName + "/" + c.Business + "/" + c.Fields["City"]
		}
		want := map[string]string{"+15553100001": "Ann/Acme/Paris", "+15553100002": "Bo//Rome", "+15553100006": "Lee; Eve//Oslo\nNorth"} // a quoted CRLF reads as a newline
		if len(got) != 3 || got["+15553100001"] != want["+15553100001"] || got["+15553100002"] != want["+15553100002"] ||
			got["+15553100006"] != want["+15553100006"] {
			t.Errorf("contacts = %q", got)
		}
	})
	t.Run("the report can be read again", func(t *testing.T) {
		var again importReport
		mustDo(t, s, "GET", "/api/v1/contacts/imports/"+rep.ID, acme.APIKey, nil, http.StatusOK).JSON(t, &again)
		if again.ID != rep.ID || again.Imported != 2 {
			t.Errorf("report = %+v", again)
		}
		wantError(t, s.Do("GET", "/api/v1/contacts/imports/"+rep.ID, globex.APIKey, nil), 404, "not_found", "")
	})
	t.Run("unusable uploads are refused with the reason", func(t *testing.T) {
		wantError(t, upload(t, s, acme.APIKey, "", map[string]string{"tag": "x"}), 400, "missing_field", "file")
		wantError(t, upload(t, s, acme.APIKey, "name,city\nAnn,Paris\n", nil), 400, "invalid_field", "file")
		wantError(t, upload(t, s, acme.APIKey, "phone\n+15553100001\n", map[string]string{"mapping": "[1]"}), 400, "invalid_field", "mapping")
		wantError(t, upload(t, s, acme.APIKey, "phone\n+15553100001\n", map[string]string{"colour": "red"}), 400, "invalid_field", "colour")
		res := s.Do("POST", "/api/v1/contacts/import", acme.APIKey, map[string]string{"file": "x"})
		wantError(t, res, 400, "invalid_field", "file")
	})

}

func TestImportConflictPolicyAllow(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_CONTACT_CONFLICTS": "allow"})
	acme, globex := s.CreateClient("acme", ""), s.CreateClient("globex", "")
	mustDo(t, s, "POST", "/api/v1/contacts", globex.APIKey, map[string]string{"phone": "+15553100005"}, http.StatusCreated)
	var rep importReport
	upload(t, s, acme.APIKey, "phone\n+15553100005\n+15553100006\n", nil).JSON(t, &rep)
	if rep.Imported != 2 || rep.ConflictCount != 1 || rep.Conflicts[0].Line != 2 {
		t.Errorf("report = %+v: with allow, a conflict is imported and still reported", rep)
	}
}

// A file refused part-way is recorded as a failed import: the error answer says which, and its
// report can be read again.
func TestFailedImportAnswersItsReport(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme, globex := s.CreateClient("acme", ""), s.CreateClient("globex", "")
	file := "phone,name\n+15553100001,\"Bob\n" + strings.Repeat("+15553100002,x\n", 200)
	res := upload(t, s, acme.APIKey, file, nil)
	const why = "unusable file: a quoted field is never closed: line 2 opens one that runs to line 202"
	var answer struct {
		Error struct {
			Code, Message, Param string
		} `json:"error"`
		Import struct {
			importReport
			Error string `json:"error"`
		} `json:"import"`
	}
	res.JSON(t, &answer)
	if res.Status != http.StatusBadRequest || answer.Error.Code != "invalid_field" || answer.Error.Param != "file" ||
		answer.Error.Message != why {
		t.Fatalf("answer %d %s", res.Status, res.Body)
	}
	if got := answer.Import; !strings.HasPrefix(got.ID, "imp_") || got.Status != "failed" || got.Imported != 0 || got.Error != why {
		t.Errorf("import in the answer = %+v", got)
	}
	var stored struct {
		importReport
		Error string `json:"error"`
	}
	mustDo(t, s, "GET", "/api/v1/contacts/imports/"+answer.Import.ID, acme.APIKey, nil, http.StatusOK).JSON(t, &stored)
	if stored.ID != answer.Import.ID || stored.Status != "failed" || stored.Error != why {
		t.Errorf("stored report = %+v", stored)
	}
	wantError(t, s.Do("GET", "/api/v1/contacts/imports/"+answer.Import.ID, globex.APIKey, nil), 404, "not_found", "")
	var pg struct {
		Data []json.RawMessage `json:"data"`
	}
	mustDo(t, s, "GET", "/api/v1/contacts", acme.APIKey, nil, http.StatusOK).JSON(t, &pg)
	if len(pg.Data) != 0 {
		t.Errorf("a failed import left %d contacts", len(pg.Data))
	}
}
