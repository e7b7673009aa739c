package api_test

import (
	"net/http"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// How calls are answered is set per number (operator, or the client that owns it) and per
// client; GET shows the answer in effect and whether it was set there.
func TestVoiceAnswers(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme, globex := s.CreateClient("acme", ""), s.CreateClient("globex", "")
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000051", "client_id": "acme"}, http.StatusCreated)
	mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000052", "client_id": "globex"}, http.StatusCreated)
	type voice struct {
		Action     string `json:"action"`
		Text       string `json:"text"`
		ForwardTo  string `json:"forward_to"`
		MaxSeconds int    `json:"max_seconds"`
		Configured bool   `json:"configured"`
	}
	get := func(path, key string) voice {
		var v voice
		mustDo(t, s, "GET", path, key, nil, http.StatusOK).JSON(t, &v)
		return v
	}
	if v := get("/api/v1/numbers/%2B15550000051/voice", acme.APIKey); v.Action != "say" || v.Configured {
		t.Errorf("default: %+v", v)
	}
	t.Run("bad answers are refused naming the field", func(t *testing.T) {
		for _, tc := range []struct {
			body  map[string]any
			param string
		}{
			{map[string]any{}, "action"},
			{map[string]any{"action": "dance"}, "action"},
			{map[string]any{"action": "say"}, "text"},
			{map[string]any{"action": "forward"}, "forward_to"},
			{map[string]any{"action": "forward", "forward_to": "not a number"}, "forward_to"},
			{map[string]any{"action": "voicemail", "max_seconds": 5000}, "max_seconds"},
			{map[string]any{"action": "voicemail", "forward_to": "+15550001111"}, "forward_to"},
			{map[string]any{"action": "say", "text": "hi", "language": "<en>"}, "language"},
		} {
			wantError(t, s.Do("PUT", "/api/v1/voice", acme.APIKey, tc.body), http.StatusBadRequest, "invalid_field", tc.param)
		}
		wantError(t, s.Do("PUT", "/api/v1/voice", acme.APIKey, map[string]any{"action": "say", "text": "x", "colour": "red"}), http.StatusBadRequest, "invalid_field", "colour")
	})
	mustDo(t, s, "PUT", "/api/v1/voice", acme.APIKey, map[string]any{"action": "forward", "forward_to": "(555) 000-9999"}, http.StatusOK)
	if v := get("/api/v1/voice", acme.APIKey); v.Action != "forward" || v.ForwardTo != "+15550009999" || !v.Configured {
		t.Errorf("client's answer: %+v", v)
	}
	if v := get("/api/v1/numbers/%2B15550000051/voice", acme.APIKey); v.Action != "forward" || v.Configured {
		t.Errorf("the number follows its client's answer: %+v", v)
	}
	mustDo(t, s, "PUT", "/api/v1/numbers/%2B15550000051/voice", acme.APIKey, map[string]any{"action": "voicemail"}, http.StatusOK)
	if v := get("/admin/v1/numbers/%2B15550000051/voice", admin); v.Action != "voicemail" || v.MaxSeconds != 120 || v.Text == "" || !v.Configured {
		t.Errorf("the number's own answer, defaults filled: %+v", v)
	}
	t.Run("another client's number is not found", func(t *testing.T) {
		wantError(t, s.Do("PUT", "/api/v1/numbers/%2B15550000052/voice", acme.APIKey, map[string]any{"action": "voicemail"}), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do("GET", "/api/v1/numbers/%2B15550000052/voice", acme.APIKey, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do("GET", "/api/v1/numbers/%2B15550000099/voice", globex.APIKey, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do("GET", "/admin/v1/clients/nobody/voice", admin, nil), http.StatusNotFound, "not_found", "")
	})
	t.Run("calls are not forwarded to one of Ibiki's numbers: they would come back", func(t *testing.T) {
		wantError(t, s.Do("PUT", "/api/v1/voice", acme.APIKey, map[string]any{"action": "forward", "forward_to": "+15550000052"}),
			http.StatusBadRequest, "invalid_field", "forward_to")
	})
	t.Run("a number given to another client loses its former client's answer", func(t *testing.T) {
		mustDo(t, s, "POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000053", "client_id": "acme"}, http.StatusCreated)
		mustDo(t, s, "PUT", "/api/v1/numbers/%2B15550000053/voice", acme.APIKey, map[string]any{"action": "forward", "forward_to": "+15550007777"}, http.StatusOK)
		mustDo(t, s, "PATCH", "/admin/v1/numbers/%2B15550000053", admin, map[string]any{"client_id": "acme"}, http.StatusOK)
		if v := get("/api/v1/numbers/%2B15550000053/voice", acme.APIKey); !v.Configured {
			t.Errorf("a change that keeps the client dropped the answer: %+v", v)
		}
		mustDo(t, s, "PATCH", "/admin/v1/numbers/%2B15550000053", admin, map[string]any{"client_id": "globex"}, http.StatusOK)
		if v := get("/api/v1/numbers/%2B15550000053/voice", globex.APIKey); v.Configured || v.ForwardTo != "" {
			t.Errorf("globex's new number answers with acme's forward: %+v", v)
		}
	})
	mustDo(t, s, "DELETE", "/api/v1/numbers/%2B15550000051/voice", acme.APIKey, nil, http.StatusNoContent)
	wantError(t, s.Do("DELETE", "/api/v1/numbers/%2B15550000051/voice", acme.APIKey, nil), http.StatusNotFound, "not_found", "")
	if v := get("/api/v1/numbers/%2B15550000051/voice", acme.APIKey); v.Action != "forward" {
		t.Errorf("after the delete the client's answer applies again: %+v", v)
	}
}
