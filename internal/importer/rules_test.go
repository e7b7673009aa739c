package importer_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/csvexport"
	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/importer"
)

// A row of an import obeys the rules of a contact that the API applies (contact.Details.Check),
// and a cell too long for any field is refused as it streams in: such rows are reported with
// their lines and the field, and nothing of them is stored, so pages and exports stay small.
func TestImportRowsObeyTheRulesOfAContact(t *testing.T) {
	svc := newService(t)
	tags51 := make([]string, 51)
	for i := range tags51 {
		tags51[i] = fmt.Sprintf("t%d", i)
	}
	file := strings.Join([]string{
		"phone,first_name,last_name,business,notes,tags",
		"+15557000001,Ann,Lee,Acme,fine,vip",                              // 2: imported
		"+15557000002," + strings.Repeat("N", 10_000) + ",,,,",            // 3: name
		"+15557000003,,,,\"" + strings.Repeat("x", 30_000_000) + "\",",    // 4: giant cell
		"+15557000004,,," + strings.Repeat("B", 257) + ",,",               // 5: business
		"+15557000005,,,," + strings.Repeat("v", 1025) + ",",              // 6: field value
		"+15557000006,,,,,\"" + strings.Join(tags51, ",") + "\"",          // 7: tags
		"+15557000007,,,,,\"" + strings.Repeat("t", 101) + "\"",           // 8: tag
		"+15557000008,Bo,,,\"" + strings.Repeat("line\n", 30_000) + "\",", // 9-30009: quoted, cut
		"not a phone,Cy,,,,", // 30010: bad phone
		"+15557000009," + strings.Repeat("é", 256) + ",,,\"" + strings.Repeat("w", 1024) + "\",x", // 30011: at the limits
	}, "\n") + "\n"
	rep, err := svc.Import(t.Context(), "acme", strings.NewReader(file), importer.Options{Filename: "limits.csv"})
	if err != nil {
		t.Fatalf("Import = %v", err)
	}
	want := []struct {
		line int
		says string
	}{
		{3, "first_name must be at most 256 characters"},
		{4, "notes is too long"},
		{5, "business must be at most 256 characters"},
		{6, `fields ("notes"): custom field names are 1-64 bytes and values at most 1024 characters`},
		{7, "at most 50 tags"},
		{8, "tags are 1-100 characters"},
		{9, "notes is too long"},
		{30010, "phone"},
	}
	if rep.Imported != 2 || rep.InvalidCount != int64(len(want)) || len(rep.Invalid) != len(want) {
		t.Fatalf("imported %d, invalid %d %+v; want 2 imported and %d invalid", rep.Imported, rep.InvalidCount, rep.Invalid, len(want))
	}
	for i, w := range want {
		if got := rep.Invalid[i]; got.Line != w.line || !strings.Contains(got.Error, w.says) {
			t.Errorf("invalid[%d] = line %d %.100q, want line %d saying %q", i, got.Line, got.Error, w.line, w.says)
		}
	}
	got := contacts(t, svc.Store)
	wantContacts := []string{"+15551230009|Old||", "+15557000001|Ann|Lee|Acme notes=fine",
		"+15557000009|" + strings.Repeat("é", 256) + "|| notes=" + strings.Repeat("w", 1024)}
	if strings.Join(got, "\n") != strings.Join(wantContacts, "\n") {
		t.Errorf("contacts:\n%.300s\nwant the two valid rows beside the known one", strings.Join(got, "\n"))
	}
	var export bytes.Buffer
	ibikitest.Must(t, csvexport.Contacts(t.Context(), svc.Store, &export, "acme", ""))
	im, err := svc.Store.ImportByID(t.Context(), "acme", rep.ID)
	ibikitest.Must(t, err)
	if export.Len() > 10_000 || len(im.Report) > 10_000 {
		t.Errorf("the export holds %d bytes and the stored report %d: the refused cells were kept", export.Len(), len(im.Report))
	}
}
