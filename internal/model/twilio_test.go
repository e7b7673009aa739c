package model_test

import (
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
)

func TestTwilioShapes(t *testing.T) {
	for code, want := range map[string]int{"30003": 30003, "21211": 21211, "recipient_opted_out": 21610, "30036": 30036,
		"provider_not_configured": 30008, "send_in_doubt": 30008} {
		if got := model.TwilioErrorCode(code); got != want {
			t.Errorf("TwilioErrorCode(%q) = %d, want %d", code, got, want)
		}
	}
	for s, want := range map[string]bool{"AC" + strings.Repeat("0f", 16): true, "AC" + strings.Repeat("0", 31): false,
		"MG" + strings.Repeat("a", 32): false, "AC" + strings.Repeat("g", 32): false, "": false} {
		if got := model.ValidTwilioSID(s, "AC"); got != want {
			t.Errorf("ValidTwilioSID(%q, AC) = %v, want %v", s, got, want)
		}
	}
}
