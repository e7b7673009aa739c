package respond_test

import (
	"testing"

	"github.com/ibiki/ibiki/internal/respond"
)

// BenchmarkDecodeBytes decodes a send request, the body every POST /api/v1/messages carries.
func BenchmarkDecodeBytes(b *testing.B) {
	body := []byte(`{"to":"+46701234567","body":"kbench mt 12345"}`)
	b.ReportAllocs()
	for b.Loop() {
		var in struct {
			To   *string `json:"to"`
			Body string  `json:"body"`
			From string  `json:"from"`
		}
		if err := respond.DecodeBytes(body, &in); err != nil {
			b.Fatal(err)
		}
	}
}
