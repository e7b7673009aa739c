package generic_test

import (
	"testing"

	"github.com/ibiki/ibiki/internal/provider/generic"
)

// BenchmarkParse is the hot path of the generic webhook with today's names: a flat JSON object.
// Configurable names and encodings must not make it slower.
func BenchmarkParse(b *testing.B) {
	body := []byte(`{"message_id":"m-1","from":"+15551234567","to":"+15557654321","body":"hello","timestamp":"2025-09-23T23:23:20Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := generic.Parse(body, "US"); err != nil {
			b.Fatal(err)
		}
	}
}
