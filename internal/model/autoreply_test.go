package model_test

import (
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

func TestBusinessHours(t *testing.T) {
	h := model.BusinessHours{TimeZone: "America/New_York", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Open: "09:00", Close: "17:30"}
	if err := h.Check(); err != nil {
		t.Fatal(err)
	}
	rule := model.AutoReply{Text: "in", OutsideText: "out", Hours: &h}
	for at, want := range map[string]string{
		"2026-12-07T14:00:00Z": "in",  // Monday 09:00 in New York
		"2026-12-07T13:59:00Z": "out", // 08:59
		"2026-12-07T22:29:00Z": "in",  // 17:29
		"2026-12-07T22:30:00Z": "out", // 17:30: closed
		"2026-12-05T15:00:00Z": "out", // Saturday
		"2026-12-08T03:00:00Z": "out", // Monday 22:00 in New York, Tuesday in UTC
	} {
		tm, _ := time.Parse(time.RFC3339, at)
		if got := rule.TextAt(tm); got != want {
			t.Errorf("%s: %q, want %q", at, got, want)
		}
	}
	if got := (model.AutoReply{Text: "always"}).TextAt(time.Now()); got != "always" {
		t.Errorf("without hours: %q", got)
	}
}

func TestPickAutoReply(t *testing.T) {
	rules := []model.AutoReply{
		{ID: "default"},
		{ID: "whatsapp", Channel: model.ChannelWhatsApp},
		{ID: "number", Number: "+15557654321"},
		{ID: "number-whatsapp", Number: "+15557654321", Channel: model.ChannelWhatsApp},
	}
	for _, tc := range []struct {
		ch     model.Channel
		number string
		want   string
	}{
		{model.ChannelSMS, "+15550000000", "default"},
		{model.ChannelWhatsApp, "+15550000000", "whatsapp"},
		{model.ChannelSMS, "+15557654321", "number"},
		{model.ChannelWhatsApp, "+15557654321", "number-whatsapp"},
		{model.ChannelSMS, "", "default"},
	} {
		if got := model.PickAutoReply(rules, tc.ch, tc.number); got == nil || got.ID != tc.want {
			t.Errorf("%s to %s: %+v, want %s", tc.ch, tc.number, got, tc.want)
		}
	}
	if got := model.PickAutoReply(rules[1:2], model.ChannelSMS, ""); got != nil {
		t.Errorf("a WhatsApp rule answered SMS: %+v", got)
	}
}
