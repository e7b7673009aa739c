package csvexport_test

import (
	"bytes"
	"testing"

	"github.com/ibiki/ibiki/internal/csvexport"
)

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"Ann":                  "Ann",
		"=HYPERLINK(\"x\")":    "'=HYPERLINK(\"x\")",
		"+1 formula":           "'+1 formula",
		"-2+3":                 "'-2+3",
		"@SUM(A1)":             "'@SUM(A1)",
		"\tx":                  "'\tx",
		"\rx":                  "'\rx",
		"+15551234567":         "+15551234567", // E.164 is data
		"+1555123456789012345": "'+1555123456789012345",
		"+1555-123":            "'+1555-123",
	} {
		if got := csvexport.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterRowMakesEveryCellSafe(t *testing.T) {
	var buf bytes.Buffer
	w := csvexport.NewWriter(&buf)
	if err := w.Row("=1+1", "+15551234567", "plain, with comma"); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if got, want := buf.String(), "'=1+1,+15551234567,\"plain, with comma\"\n"; got != want {
		t.Errorf("row = %q, want %q", got, want)
	}
}
