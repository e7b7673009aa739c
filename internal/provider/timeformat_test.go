package provider_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/provider"
)

func TestTimeAsReadsTheProvidersFormat(t *testing.T) {
	want := time.Date(2024, 5, 1, 4, 50, 30, 0, time.UTC)
	tests := []struct {
		name, format, zone, field string
		want                      time.Time
	}{
		{"RFC 3339 stays the default", "", "", `"2024-05-01T10:20:30+05:30"`, want},
		{"a local datetime is read in its zone", "datetime", "Asia/Kolkata", `"2024-05-01 10:20:30"`, want},
		{"a local datetime is read at a fixed offset", "datetime", "+05:30", `"2024-05-01 10:20:30"`, want},
		{"a datetime without a zone is UTC", "datetime", "", `"2024-05-01 04:50:30"`, want},
		{"a Go layout is read as written", "02/01/2006 15:04:05", "+05:30", `"01/05/2024 10:20:30"`, want},
		{"unix seconds as a number", "unix", "", `1714539030`, want},
		{"unix seconds as a string", "unix", "", `"1714539030"`, want},
		{"unix milliseconds keep their fraction", "unix_ms", "", `1714539030250`, want.Add(250 * time.Millisecond)},
		{"a missing time is none", "unix", "", `null`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := provider.ParseZone(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			tf, err := provider.ParseTimeFormat(tt.format, loc)
			if err != nil {
				t.Fatal(err)
			}
			got, raw, err := provider.Fields{"ts": json.RawMessage(tt.field)}.TimeAs("ts", tf)
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC || (raw == "") != tt.want.IsZero() {
				t.Errorf("TimeAs = %v (%q), %v; want %v", got, raw, err, tt.want)
			}
		})
	}
}

func TestTimeFormatsAreCheckedWhenConfigured(t *testing.T) {
	for _, f := range []string{"yyyy-MM-dd HH:mm:ss", "unixtime", "Monday"} {
		if _, err := provider.ParseTimeFormat(f, nil); err == nil {
			t.Errorf("ParseTimeFormat(%q) accepted", f)
		}
	}
	for _, z := range []string{"IST+5", "+5:30", "Nowhere/Land"} {
		if _, err := provider.ParseZone(z); err == nil {
			t.Errorf("ParseZone(%q) accepted", z)
		}
	}
	tf, _ := provider.ParseTimeFormat("datetime", nil)
	_, _, err := provider.Fields{"ts": json.RawMessage(`"2024-05-01T10:20:30Z"`)}.TimeAs("ts", tf)
	var fe *provider.FieldError
	if !errors.As(err, &fe) || fe.Field != "ts" || !strings.Contains(fe.Reason, `"2024-05-01 10:20:30"`) {
		t.Errorf("TimeAs of another format = %v, want the field named with an example", err)
	}
}
