package optout_test

import (
	"testing"

	"github.com/ibiki/ibiki/internal/optout"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		body string
		want optout.Action
		word string
	}{
		{"STOP", optout.Stop, "STOP"},
		{"stop", optout.Stop, "STOP"},
		{"  Stop \n", optout.Stop, "STOP"},
		{"StopAll", optout.Stop, "STOPALL"},
		{"unsubscribe", optout.Stop, "UNSUBSCRIBE"},
		{"cancel", optout.Stop, "CANCEL"},
		{"END", optout.Stop, "END"},
		{"quit", optout.Stop, "QUIT"},
		{"start", optout.Start, "START"},
		{"UNSTOP", optout.Start, "UNSTOP"},
		{"Yes", optout.Start, "YES"},
		{"help", optout.Help, "HELP"},
		{"please stop", optout.None, ""},
		{"STOP!", optout.None, ""},
		{"stopp", optout.None, ""},
		{"", optout.None, ""},
		{"yes please", optout.None, ""},
	}
	for _, tt := range tests {
		if got, word := optout.Classify(tt.body); got != tt.want || word != tt.word {
			t.Errorf("Classify(%q) = %q %q, want %q %q", tt.body, got, word, tt.want, tt.word)
		}
	}
}
