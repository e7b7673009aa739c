package simulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/simulator"
)

func TestInjectChecksTheContactsMessage(t *testing.T) {
	s := simulator.New(simulator.Config{Name: "sim", Region: "US"})
	tests := []struct {
		name    string
		in      provider.Injection
		want    provider.Inbound // ProviderMessageID aside
		field   string           // "" when accepted
		missing bool
	}{
		{"a full message is taken as the simulator received it", provider.Injection{From: "(555) 123-4567", To: "57675", Body: "YES"},
			provider.Inbound{Provider: "sim", From: "+15551234567", To: "57675", Body: "YES", Channel: model.ChannelSMS, Status: model.StatusReceived}, "", false},
		{"the receiving number is optional", provider.Injection{From: "+15551234567", Body: "hi"},
			provider.Inbound{Provider: "sim", From: "+15551234567", Body: "hi", Channel: model.ChannelSMS, Status: model.StatusReceived}, "", false},
		{"a body of spaces is a message", provider.Injection{From: "+15551234567", Body: "  "},
			provider.Inbound{Provider: "sim", From: "+15551234567", Body: "  ", Channel: model.ChannelSMS, Status: model.StatusReceived}, "", false},
		{"a missing sender is missing", provider.Injection{From: " ", Body: "hi"}, provider.Inbound{}, "from", true},
		{"a sender that is not a phone is wrong", provider.Injection{From: "hello", Body: "hi"}, provider.Inbound{}, "from", false},
		{"an empty body is missing", provider.Injection{From: "+15551234567"}, provider.Inbound{}, "body", true},
		{"a receiver that is not a number is wrong", provider.Injection{From: "+15551234567", To: "nowhere", Body: "hi"}, provider.Inbound{}, "to", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Inject(tt.in)
			if tt.field != "" {
				var fe *provider.FieldError
				if !errors.As(err, &fe) || fe.Field != tt.field || fe.Missing() != tt.missing {
					t.Fatalf("Inject error = %v, want field %s (missing %v)", err, tt.field, tt.missing)
				}
				return
			}
			if err != nil || !strings.HasPrefix(got.ProviderMessageID, "sim_") {
				t.Fatalf("Inject = %+v, %v", got, err)
			}
			got.ProviderMessageID = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Inject =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestFromEntry(t *testing.T) {
	reports := make(sink, 1)
	entry := func(fields string) provider.Entry {
		return provider.Entry{Name: "sim-a", Type: "simulator", Fields: json.RawMessage(fields)}
	}
	t.Run("reports go to the sink under the entry's name", func(t *testing.T) {
		a, err := simulator.FromEntry(entry(`{"latency":"1ms","rate":3}`), provider.Env{Status: reports})
		if err != nil {
			t.Fatal(err)
		}
		s := a.(provider.Sender)
		if _, err := s.Send(context.Background(), provider.Outbound{MessageID: "msg_1"}); err != nil {
			t.Fatal(err)
		}
		if r := <-reports; r.name != "sim-a" || s.Capabilities().MaxPerSecond != 3 {
			t.Errorf("report %+v, capabilities %+v", r, s.Capabilities())
		}
	})
	for name, fields := range map[string]string{
		"a failure ratio above 1 is refused":          `{"failure_ratio":1.5}`,
		"a negative failure ratio is refused":         `{"failure_ratio":-0.1}`,
		"an unknown field is refused":                 `{"latncy":"1s"}`,
		"a latency that is not a duration is refused": `{"latency":5}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := simulator.FromEntry(entry(fields), provider.Env{}); err == nil {
				t.Errorf("FromEntry accepted %s", fields)
			}
		})
	}
}
