package importer_test

import (
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/importer"
)

// A file's name is metadata, not the client's text: whatever bytes it has, the import and the
// kept upload go through, with the name cleaned (no NUL, valid UTF-8, at most MaxFilename
// bytes), the same on both engines.
func TestFileNamesAreKeptCleaned(t *testing.T) {
	svc := newService(t)
	tests := []struct {
		name, filename, want string
	}{
		{"a plain name is kept as it is", "contacts.csv", "contacts.csv"},
		{"a NUL is dropped", "a\x00b.csv", "ab.csv"},
		{"bytes that are not UTF-8 become U+FFFD", "a\xffb\xc3(.csv", "a\uFFFDb\uFFFD(.csv"},
		{"a long name is cut to the bound", strings.Repeat("n", 300), strings.Repeat("n", importer.MaxFilename)},
		{"a cut does not split a character", strings.Repeat("é", 200), strings.Repeat("é", importer.MaxFilename/2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const csv = "phone\n+15557100001\n"
			rep, err := svc.Import(t.Context(), "acme", strings.NewReader(csv), importer.Options{Filename: tt.filename})
			if err != nil || rep.Status != "completed" {
				t.Fatalf("Import = %+v, %v", rep, err)
			}
			im, err := svc.Store.ImportByID(t.Context(), "acme", rep.ID)
			if err != nil || im.Filename != tt.want {
				t.Errorf("import's file name = %q, %v; want %q", im.Filename, err, tt.want)
			}
			k, err := svc.Keep(t.Context(), "acme", tt.filename, "", strings.NewReader(csv), 5)
			if err != nil || k.Name != tt.want {
				t.Fatalf("Keep = %q, %v; want the name %q", k.Name, err, tt.want)
			}
			if u, err := svc.Kept(t.Context(), "acme", k.Token); err != nil || u.Name != tt.want {
				t.Errorf("kept upload's name = %q, %v; want %q", u.Name, err, tt.want)
			}
		})
	}
}
