// Package quiet decides when a message may be sent under a client's quiet hours ("21:00-08:00":
// nothing from 21:00 to 08:00), in the recipient's time zone guessed from the number. It is
// pure.
package quiet

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zone data in the binary: containers often have none

	"github.com/nyaruka/phonenumbers"
)

// Window is a daily quiet period, in minutes after local midnight; Start > End wraps past
// midnight. The zero Window is no quiet period.
type Window struct {
	Start, End int
	set        bool
}

// Parse reads "HH:MM-HH:MM" ("" is no window).
func Parse(s string) (Window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Window{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	start, err1 := minutes(a)
	end, err2 := minutes(b)
	if !ok || err1 != nil || err2 != nil || start == end {
		return Window{}, fmt.Errorf("quiet hours %q: write them as HH:MM-HH:MM, e.g. 21:00-08:00", s)
	}
	return Window{Start: start, End: end, set: true}, nil
}

func minutes(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return hh*60 + mm, nil
}

// String writes the window back as HH:MM-HH:MM.
func (w Window) String() string {
	if !w.set {
		return ""
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
}

// quietAt reports whether local time t is inside the window, and when the window ends.
func (w Window) quietAt(t time.Time) (bool, time.Time) {
	m := t.Hour()*60 + t.Minute()
	inside := (w.Start < w.End && m >= w.Start && m < w.End) || (w.Start > w.End && (m >= w.Start || m < w.End))
	if !inside {
		return false, t
	}
	end := time.Date(t.Year(), t.Month(), t.Day(), w.End/60, w.End%60, 0, 0, t.Location())
	if !end.After(t) {
		end = time.Date(t.Year(), t.Month(), t.Day()+1, w.End/60, w.End%60, 0, 0, t.Location())
	}
	return true, end
}

// Zones guesses the time zones of an E.164 number (several for some countries and area codes;
// none when the metadata cannot tell).
func Zones(e164 string) []*time.Location {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return nil
	}
	names, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		return nil
	}
	var out []*time.Location
	for _, n := range names {
		if loc := location(n); loc != nil {
			out = append(out, loc)
		}
	}
	return out
}

var (
	locMu sync.Mutex
	locs  = map[string]*time.Location{}
)

func location(name string) *time.Location {
	locMu.Lock()
	defer locMu.Unlock()
	if l, ok := locs[name]; ok {
		return l
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = nil // "Etc/Unknown" and names this system's zone data lacks
	}
	locs[name] = l
	return l
}

// NextAllowed returns now when a message to the number may go out now, or the first time it
// is outside the window in every zone the number may be in. A number whose zone cannot be
// guessed is not held.
func (w Window) NextAllowed(e164 string, now time.Time) time.Time {
	if !w.set {
		return now
	}
	next := now
	for range 3 { // a later zone's window may start while an earlier one ends: look again
		moved := false
		for _, loc := range Zones(e164) {
			if q, end := w.quietAt(next.In(loc)); q && end.After(next) {
				next, moved = end, true
			}
		}
		if !moved {
			break
		}
	}
	return next
}
