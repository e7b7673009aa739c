package sms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/sms"
)

func TestNormalizeE164(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		want   string
		reason string // expected in the error message when want is ""
	}{
		{"an E.164 US number stays as it is", "+15551234567", "US", "+15551234567", ""},
		{"a US number with its country code but no plus gets the plus", "15551234567", "US", "+15551234567", ""},
		{"a national US number with brackets takes the region's code", "(555) 123-4567", "US", "+15551234567", ""},
		{"a national US number with dashes takes the region's code", "555-123-4567", "US", "+15551234567", ""},
		{"a number with dots is read", "555.123.4567", "US", "+15551234567", ""},
		{"surrounding spaces are trimmed", "  +15551234567 \n", "US", "+15551234567", ""},
		{"a spaced UK mobile with a plus is read", "+44 7700 900123", "US", "+447700900123", ""},
		{"a UK mobile without plus is retried as international", "447700900123", "US", "+447700900123", ""},
		{"a UK mobile with the 00 prefix is international", "00447700900123", "US", "+447700900123", ""},
		{"a UK national mobile takes the GB code", "07700 900123", "GB", "+447700900123", ""},
		{"the region may be lower case", "07700 900123", "gb", "+447700900123", ""},
		{"a US number without plus and without region is read as international", "15551234567", "", "+15551234567", ""},
		{"an empty string is rejected", "", "US", "", "empty"},
		{"only spaces are rejected as empty", "   ", "US", "", "empty"},
		{"letters are rejected", "555-CALL-NOW", "US", "", "letters"},
		{"a vanity number is rejected", "1-800-FLOWERS", "US", "", "letters"},
		{"an extension is rejected", "+15551234567 ext 12", "US", "", "letters"},
		{"a whatsapp prefix is not handled here", "whatsapp:+15551234567", "US", "", "prefix"},
		{"a tel URI is rejected", "tel:+15551234567", "US", "", "prefix"},
		{"two digits are too short", "12", "US", "", "too short"},
		{"a short code is not an E.164 number", "57675", "US", "", ""},
		{"a US number without area code is only local", "123-4567", "US", "", "local"},
		{"twenty digits are too long", "+12345678901234567890", "US", "", "too long"},
		{"a plus inside the number is rejected", "1+5551234567", "US", "", "unexpected character"},
		{"an unknown country code is rejected", "+999 1234 5678", "US", "", "country code"},
		{"punctuation only is rejected", "---", "US", "", ""},
		{"a NUL byte is rejected", "+1555\x001234567", "US", "", "unexpected character"},
		{"an overlong input is rejected before parsing", strings.Repeat("1", 200), "US", "", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sms.NormalizeE164(tt.raw, tt.region)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormalizeE164(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("NormalizeE164(%q, %q) = %q, want an error", tt.raw, tt.region, got)
			}
			if !errors.Is(err, sms.ErrInvalidPhone) {
				t.Errorf("error %v does not wrap ErrInvalidPhone", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
}

func TestNormalizeAddress(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    string
		wantErr bool
	}{
		{"a five-digit short code stays plain digits", "57675", "57675", false},
		{"a three-digit short code is the shortest accepted", "711", "711", false},
		{"an eight-digit short code is the longest accepted", "12345678", "12345678", false},
		{"a short code with surrounding spaces is trimmed", " 57675 ", "57675", false},
		{"a two-digit code is rejected", "12", "", true},
		{"a short code with a plus is read as a phone number and rejected", "+57675", "", true},
		{"a formatted short code is not a short code", "576-75", "", true},
		{"a full number is normalised to E.164", "+1 (555) 765-4321", "+15557654321", false},
		{"a national number is normalised to E.164", "555-765-4321", "+15557654321", false},
		{"letters are rejected", "SHORT", "", true},
		{"an empty string is rejected", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sms.NormalizeAddress(tt.raw, "US")
			if tt.wantErr {
				if err == nil || !errors.Is(err, sms.ErrInvalidPhone) {
					t.Fatalf("NormalizeAddress(%q) = %q, %v; want ErrInvalidPhone", tt.raw, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeAddress(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}

func FuzzNormalizeE164(f *testing.F) {
	seeds := []struct{ raw, region string }{
		{"+15551234567", "US"},
		{"15551234567", "US"},
		{"(555) 123-4567", "US"},
		{"555-123-4567", "US"},
		{"+44 7700 900123", "GB"},
		{"447700900123", "US"},
		{"00447700900123", ""},
		{"07700 900123", "GB"},
		{"whatsapp:+15551234567", "US"},
		{"1-800-FLOWERS", "US"},
		{"+6831234", ""},
		{"+", "ZZ"},
		{"", ""},
	}
	for _, s := range seeds {
		f.Add(s.raw, s.region)
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := sms.NormalizeE164(raw, region)
		if err != nil {
			if !errors.Is(err, sms.ErrInvalidPhone) {
				t.Fatalf("NormalizeE164(%q, %q) error %v does not wrap ErrInvalidPhone", raw, region, err)
			}
			return
		}
		if len(got) < 8 || len(got) > 16 || got[0] != '+' {
			t.Fatalf("NormalizeE164(%q, %q) = %q: not + and 7-15 digits", raw, region, got)
		}
		for _, c := range got[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("NormalizeE164(%q, %q) = %q: not all digits", raw, region, got)
			}
		}
	})
}

func BenchmarkNormalizeE164(b *testing.B) {
	for _, raw := range []string{"+46701234567", "+15551234567", "+44 7700 900123", "(555) 123-4567"} {
		b.Run(raw, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sms.NormalizeE164(raw, "US"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
