package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/ibiki/ibiki/internal/provider/httpapi"
)

// Provider answers are outside input: reading a path from any JSON never panics.
func FuzzPath(f *testing.F) {
	f.Add(`{"data":{"messages":[{"id":12345}]}}`, "data.messages.0.id")
	f.Add(`[1,2]`, "5")
	f.Add(`{"a":null}`, "a.b")
	f.Add(`"x"`, "")
	f.Fuzz(func(t *testing.T, doc, path string) {
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		_ = httpapi.Path(v, path)
	})
}
