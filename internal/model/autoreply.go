package model

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AutoReply is a client's automatic answer to contacts who write in: its text (a template of
// the contact's fields), for a channel and a receiving number or for any ("" for either), with
// optional business hours and another text outside them. A contact gets at most one reply of a
// rule per Window.
type AutoReply struct {
	ID          string
	ClientID    string
	Channel     Channel // "" for any
	Number      string  // "" for any of the client's numbers
	Text        string
	OutsideText string         // with Hours: the text outside them
	Hours       *BusinessHours // nil: always Text
	Window      time.Duration
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DefaultAutoReplyWindow is how long after a reply a contact gets none from the same rule.
const DefaultAutoReplyWindow = 24 * time.Hour

// MaxAutoReplyRunes bounds an auto-reply's texts (ten segments of GSM-7 is 1,530 characters).
const MaxAutoReplyRunes = 1600

// BusinessHours are the opening hours of a client: the same hours on the days named, in one
// time zone.
type BusinessHours struct {
	TimeZone string   `json:"time_zone"` // IANA, e.g. "America/New_York"
	Days     []string `json:"days"`      // "mon" … "sun"
	Open     string   `json:"open"`      // "09:00"
	Close    string   `json:"close"`     // "17:30"; after Open
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Check validates the hours; the error names the field.
func (h BusinessHours) Check() error {
	if _, err := time.LoadLocation(h.TimeZone); err != nil || h.TimeZone == "" {
		return &FieldErr{"hours.time_zone", "must be an IANA time zone such as America/New_York"}
	}
	if len(h.Days) == 0 {
		return &FieldErr{"hours.days", "must name at least one day (mon … sun)"}
	}
	for _, d := range h.Days {
		if !slices.Contains(weekdays, d) {
			return &FieldErr{"hours.days", fmt.Sprintf("%q is not one of mon, tue, wed, thu, fri, sat, sun", d)}
		}
	}
	open, ok1 := clock(h.Open)
	closing, ok2 := clock(h.Close)
	if !ok1 {
		return &FieldErr{"hours.open", "must be a time of day such as 09:00"}
	}
	if !ok2 || closing <= open {
		return &FieldErr{"hours.close", "must be a time of day after open, such as 17:30"}
	}
	return nil
}

// IsOpen reports whether t falls within the hours.
func (h BusinessHours) IsOpen(t time.Time) bool {
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil {
		return true
	}
	lt := t.In(loc)
	if !slices.Contains(h.Days, weekdays[lt.Weekday()]) {
		return false
	}
	open, _ := clock(h.Open)
	closing, _ := clock(h.Close)
	now := lt.Hour()*60 + lt.Minute()
	return now >= open && now < closing
}

// clock reads "HH:MM" as minutes after midnight.
func clock(s string) (int, bool) {
	var hh, mm int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &hh, &mm); err != nil || hh > 23 || mm > 59 {
		return 0, false
	}
	return hh*60 + mm, true
}

// FieldErr names a wrong field of a model value.
type FieldErr struct{ Field, Reason string }

func (e *FieldErr) Error() string { return e.Field + ": " + e.Reason }

// Check validates a rule (Number must already be normalised) and fills its default window.
func (a AutoReply) Check() (AutoReply, error) {
	if a.Channel != "" && a.Channel != ChannelSMS && a.Channel != ChannelWhatsApp {
		return a, &FieldErr{"channel", "must be sms or whatsapp (or absent for any)"}
	}
	if strings.TrimSpace(a.Text) == "" {
		return a, &FieldErr{"text", "is required"}
	}
	for f, s := range map[string]string{"text": a.Text, "outside_text": a.OutsideText} {
		if utf8.RuneCountInString(s) > MaxAutoReplyRunes {
			return a, &FieldErr{f, fmt.Sprintf("must be at most %d characters", MaxAutoReplyRunes)}
		}
	}
	if a.Hours != nil {
		if err := a.Hours.Check(); err != nil {
			return a, err
		}
		if strings.TrimSpace(a.OutsideText) == "" {
			return a, &FieldErr{"outside_text", "is required with hours: what to answer outside them"}
		}
	} else if a.OutsideText != "" {
		return a, &FieldErr{"outside_text", "needs hours: outside of what"}
	}
	if a.Window == 0 {
		a.Window = DefaultAutoReplyWindow
	}
	if a.Window < time.Minute || a.Window > 30*24*time.Hour {
		return a, &FieldErr{"window", "must be from 1m to 720h"}
	}
	return a, nil
}

// TextAt is the rule's text at time t: OutsideText outside its hours.
func (a AutoReply) TextAt(t time.Time) string {
	if a.Hours != nil && !a.Hours.IsOpen(t) {
		return a.OutsideText
	}
	return a.Text
}

// PickAutoReply chooses the rule for a message on channel ch to number: the most specific of
// channel and number, then number, then channel, then the client's default; nil for none.
func PickAutoReply(rules []AutoReply, ch Channel, number string) *AutoReply {
	best, bestScore := -1, -1
	for i, r := range rules {
		if (r.Channel != "" && r.Channel != ch) || (r.Number != "" && r.Number != number) {
			continue
		}
		score := 0
		if r.Number != "" {
			score += 2
		}
		if r.Channel != "" {
			score++
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return nil
	}
	return &rules[best]
}
