package quiet_test

import (
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/quiet"
)

func TestNextAllowed(t *testing.T) {
	w, err := quiet.Parse("21:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	london, _ := time.LoadLocation("Europe/London")
	tests := []struct {
		name  string
		phone string
		now   time.Time
		want  time.Time
	}{
		{"a New York number at 23:00 local waits for 08:00", "+12125551234", time.Date(2026, 11, 22, 23, 0, 0, 0, ny), time.Date(2026, 11, 23, 8, 0, 0, 0, ny)},
		{"a New York number at 07:59 waits a minute", "+12125551234", time.Date(2026, 11, 22, 7, 59, 0, 0, ny), time.Date(2026, 11, 22, 8, 0, 0, 0, ny)},
		{"a New York number at 12:00 goes now", "+12125551234", time.Date(2026, 11, 22, 12, 0, 0, 0, ny), time.Date(2026, 11, 22, 12, 0, 0, 0, ny)},
		{"at 21:00 sharp the window has begun", "+12125551234", time.Date(2026, 11, 22, 21, 0, 0, 0, ny), time.Date(2026, 11, 23, 8, 0, 0, 0, ny)},
		{"a London number at 22:00 London waits", "+447700900123", time.Date(2026, 11, 22, 22, 0, 0, 0, london), time.Date(2026, 11, 23, 8, 0, 0, 0, london)},
		{"the same instant is fine in New York (17:00)", "+12125551234", time.Date(2026, 11, 22, 22, 0, 0, 0, london), time.Date(2026, 11, 22, 22, 0, 0, 0, london)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.NextAllowed(tt.phone, tt.now); !got.Equal(tt.want) {
				t.Errorf("NextAllowed = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("a window within the day", func(t *testing.T) {
		lunch, _ := quiet.Parse("12:00-13:30")
		now := time.Date(2026, 11, 22, 12, 10, 0, 0, ny)
		if got := lunch.NextAllowed("+12125551234", now); !got.Equal(time.Date(2026, 11, 22, 13, 30, 0, 0, ny)) {
			t.Errorf("got %s", got)
		}
	})
	t.Run("no window holds nothing", func(t *testing.T) {
		var none quiet.Window
		now := time.Date(2026, 11, 22, 23, 0, 0, 0, ny)
		if got := none.NextAllowed("+12125551234", now); !got.Equal(now) {
			t.Errorf("got %s", got)
		}
	})
}

func TestParse(t *testing.T) {
	for _, s := range []string{"21:00-08:00", "00:00-06:30", ""} {
		w, err := quiet.Parse(s)
		if err != nil || w.String() != s {
			t.Errorf("Parse(%q) = %q, %v", s, w, err)
		}
	}
	for _, s := range []string{"21-8", "25:00-08:00", "21:00", "21:00-21:00", "9:5-10:00", "21:00-08:60"} {
		if _, err := quiet.Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
