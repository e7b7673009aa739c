package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/config"
)

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"an empty list allows everyone", "", nil, ""},
		{"a list of spaces allows everyone", "  ", nil, ""},
		{"a bare IPv4 address is a /32", "1.2.3.4", []string{"1.2.3.4/32"}, ""},
		{"a bare IPv6 address is a /128", "::1", []string{"::1/128"}, ""},
		{"a mixed list keeps its order", "1.2.3.4, 10.0.0.0/8, ::1", []string{"1.2.3.4/32", "10.0.0.0/8", "::1/128"}, ""},
		{"host bits in a prefix are dropped", "10.1.2.3/8", []string{"10.0.0.0/8"}, ""},
		{"an IPv4-mapped address becomes IPv4", "::ffff:1.2.3.4", []string{"1.2.3.4/32"}, ""},
		{"an IPv4-mapped prefix becomes IPv4", "::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}, ""},
		{"a trailing comma is tolerated", "1.2.3.4,", []string{"1.2.3.4/32"}, ""},
		{"a host name is refused by name", "1.2.3.4, example.com", nil, `"example.com"`},
		{"a bad prefix length is refused by name", "10.0.0.0/33", nil, `"10.0.0.0/33"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.ParsePrefixes(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePrefixes(%q) error = %v, want one naming %s", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrefixes(%q): %v", tt.in, err)
			}
			var strs []string
			for _, p := range got {
				strs = append(strs, p.String())
			}
			if !reflect.DeepEqual(strs, tt.want) {
				t.Errorf("ParsePrefixes(%q) = %v, want %v", tt.in, strs, tt.want)
			}
		})
	}
}
