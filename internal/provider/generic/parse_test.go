package generic_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/generic"
)

// full is the documented shape with every field set.
const full = `{"message_id":"abc123","from":"+15551234567","to":"+15557654321","body":"hello",
	"timestamp":"2025-09-23T23:23:20Z","channel":"sms","status":"received","matched_block_word":"",
	"business":"acme","first_name":"Ann","last_name":"Lee","meta":{"k":"v"}}`

func TestParseAcceptsValidPayloads(t *testing.T) {
	minimal := provider.Inbound{
		Provider: generic.Name, From: "+15551234567", Body: "hi",
		Channel: model.ChannelSMS, Status: model.StatusReceived,
	}
	tests := []struct {
		name string
		body string
		want provider.Inbound
	}{
		{"the documented shape maps onto every field", full, provider.Inbound{
			Provider:          generic.Name,
			ProviderMessageID: "abc123",
			From:              "+15551234567",
			To:                "+15557654321",
			Body:              "hello",
			Channel:           model.ChannelSMS,
			Status:            model.StatusReceived,
			Business:          "acme",
			Contact:           model.ContactInfo{FirstName: "Ann", LastName: "Lee", Business: "acme"},
			ProviderTime:      time.Date(2025, 9, 23, 23, 23, 20, 0, time.UTC),
			Meta:              map[string]string{"k": "v"},
		}},
		{"only from and body are needed", `{"from":"+15551234567","body":"hi"}`, minimal},
		{"null optional fields are the same as missing ones",
			`{"from":"+15551234567","body":"hi","message_id":null,"to":null,"timestamp":null,"channel":null,
			"status":null,"matched_block_word":null,"business":null,"first_name":null,"last_name":null,"meta":null}`, minimal},
		{"an empty meta object is no meta", `{"from":"+15551234567","body":"hi","meta":{}}`, minimal},
		{"unknown fields are ignored", `{"from":"+15551234567","body":"hi","extra":[1,{"a":true}]}`, minimal},
		{"an empty body is still a message", `{"from":"+15551234567","body":""}`,
			with(minimal, func(in *provider.Inbound) { in.Body = "" })},
		{"numbers may come as JSON numbers", `{"from":447700900123,"body":"hi","to":57675,"message_id":123}`,
			with(minimal, func(in *provider.Inbound) {
				in.From, in.To, in.ProviderMessageID = "+447700900123", "57675", "123"
			})},
		{"the channel is case-insensitive", `{"from":"+15551234567","body":"hi","channel":"SMS"}`, minimal},
		{"a blocked status keeps the matched word", `{"from":"+15551234567","body":"stop","status":"blocked","matched_block_word":"STOP"}`,
			with(minimal, func(in *provider.Inbound) {
				in.Body, in.Status, in.MatchedBlockWord = "stop", model.StatusBlocked, "STOP"
			})},
		{"a national sender takes the region's code", `{"from":"555-123-4567","body":"hi"}`, minimal},
		{"a timestamp with fractional seconds is read", `{"from":"+15551234567","body":"hi","timestamp":"2025-09-23T23:23:20.5+02:00","message_id":"m"}`,
			with(minimal, func(in *provider.Inbound) {
				in.ProviderMessageID = "m"
				in.ProviderTime = time.Date(2025, 9, 23, 21, 23, 20, 500_000_000, time.UTC)
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := generic.Parse([]byte(tt.body), "US")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseRejectsBadFieldsByName(t *testing.T) {
	const ok = `"from":"+15551234567","body":"hi"`
	var manyKeys []string
	for i := range 21 {
		manyKeys = append(manyKeys, fmt.Sprintf(`"k%d":"v"`, i))
	}
	tests := []struct {
		name   string
		body   string
		field  string
		reason string
	}{
		{"a missing sender is refused", `{"body":"hi"}`, "from", "required"},
		{"an invalid sender is refused", `{"from":"hello","body":"hi"}`, "from", "letters"},
		{"an array sender is refused", `{"from":["+15551234567"],"body":"hi"}`, "from", "must be a string"},
		{"a missing body is refused", `{"from":"+15551234567"}`, "body", "required"},
		{"a null body is refused", `{"from":"+15551234567","body":null}`, "body", "required"},
		{"an object body is refused", `{"from":"+15551234567","body":{}}`, "body", "must be a string"},
		{"a body over 5000 characters is refused", `{"from":"+15551234567","body":"` + strings.Repeat("a", 5001) + `"}`, "body", "at most 5000"},
		{"a body with a NUL byte is refused", `{"from":"+15551234567","body":"\u0000"}`, "body", "NUL"},
		{"an invalid receiver is refused", `{` + ok + `,"to":"+1"}`, "to", "invalid phone number"},
		{"a fractional receiver is refused", `{` + ok + `,"to":5.5}`, "to", "whole number"},
		{"a whatsapp channel is not supported yet", `{` + ok + `,"channel":"whatsapp"}`, "channel", "supported: sms"},
		{"a numeric channel is refused", `{` + ok + `,"channel":1}`, "channel", "must be a string"},
		{"an unknown status is refused", `{` + ok + `,"status":"delivered"}`, "status", "received, blocked"},
		{"a long block word is refused", `{` + ok + `,"matched_block_word":"` + strings.Repeat("w", 65) + `"}`, "matched_block_word", "at most 64"},
		{"a boolean business is refused", `{` + ok + `,"business":true}`, "business", "must be a string"},
		{"a long first name is refused", `{` + ok + `,"first_name":"` + strings.Repeat("n", 257) + `"}`, "first_name", "at most 256"},
		{"a last name with a NUL byte is refused", `{` + ok + `,"last_name":"L\u0000"}`, "last_name", "NUL"},
		{"a timestamp without a zone is refused", `{` + ok + `,"timestamp":"2025-09-23T23:23:20"}`, "timestamp", "RFC 3339"},
		{"a long message id is refused", `{` + ok + `,"message_id":"` + strings.Repeat("i", 129) + `"}`, "message_id", "at most 128"},
		{"an object message id is refused", `{` + ok + `,"message_id":{}}`, "message_id", "must be a string"},
		{"a meta array is refused", `{` + ok + `,"meta":["a"]}`, "meta", "object of strings"},
		{"a meta string is refused", `{` + ok + `,"meta":"k=v"}`, "meta", "object of strings"},
		{"a numeric meta value is refused", `{` + ok + `,"meta":{"k":1}}`, "meta", `"k" must be a string`},
		{"a null meta value is refused", `{` + ok + `,"meta":{"k":null}}`, "meta", `"k" must be a string`},
		{"a nested meta value is refused", `{` + ok + `,"meta":{"k":{"a":"b"}}}`, "meta", `"k" must be a string`},
		{"more than 20 meta keys are refused", `{` + ok + `,"meta":{` + strings.Join(manyKeys, ",") + `}}`, "meta", "at most 20 keys"},
		{"an empty meta key is refused", `{` + ok + `,"meta":{"":"v"}}`, "meta", "keys must be"},
		{"a long meta key is refused", `{` + ok + `,"meta":{"` + strings.Repeat("k", 65) + `":"v"}}`, "meta", "keys must be"},
		{"a long meta value is refused", `{` + ok + `,"meta":{"k":"` + strings.Repeat("v", 513) + `"}}`, "meta", "at most 512"},
		{"a meta key with a NUL byte is refused", `{` + ok + `,"meta":{"k\u0000":"v"}}`, "meta", "NUL"},
		{"a meta value with a NUL byte is refused", `{` + ok + `,"meta":{"k":"v\u0000"}}`, "meta", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := generic.Parse([]byte(tt.body), "US")
			var fe *provider.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error = %v, want a *provider.FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("Parse error = %q / %q, want field %q with a reason containing %q", fe.Field, fe.Reason, tt.field, tt.reason)
			}
		})
	}
}

func TestParseRejectsBodiesThatAreNotObjects(t *testing.T) {
	tests := []struct{ name, body string }{
		{"an empty body is malformed", ""},
		{"a JSON null is malformed", "null"},
		{"a JSON array is malformed", `[{"from":"+15551234567","body":"hi"}]`},
		{"a JSON string is malformed", `"hi"`},
		{"truncated JSON is malformed", `{"from":"+15551234567"`},
		{"a form body is malformed", "from=%2B15551234567&body=hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := generic.Parse([]byte(tt.body), "US"); !errors.Is(err, provider.ErrMalformed) {
				t.Errorf("Parse(%q) error = %v, want ErrMalformed", tt.body, err)
			}
		})
	}
}

func TestParseDerivesAStableIDWhenThereIsNone(t *testing.T) {
	const retry = `{"from":"+15551234567","to":"+15557654321","body":"hi","timestamp":"2025-09-23T23:23:20Z"}`
	id := func(t *testing.T, body string) string {
		t.Helper()
		in, err := generic.Parse([]byte(body), "US")
		if err != nil {
			t.Fatalf("Parse(%s): %v", body, err)
		}
		return in.ProviderMessageID
	}
	first := id(t, retry)
	if !strings.HasPrefix(first, "sha256:") || len(first) != len("sha256:")+32 {
		t.Fatalf("derived id = %q, want sha256: and 32 hex digits", first)
	}
	tests := []struct {
		name string
		body string
		want func(got string) bool
	}{
		{"a retry gets the same id", retry, func(got string) bool { return got == first }},
		{"a retry with other meta gets the same id", strings.Replace(retry, "}", `,"meta":{"try":"2"}}`, 1),
			func(got string) bool { return got == first }},
		{"another body gets another id", strings.Replace(retry, `"hi"`, `"ho"`, 1),
			func(got string) bool { return got != first && got != "" }},
		{"no timestamp means no id", `{"from":"+15551234567","body":"hi"}`,
			func(got string) bool { return got == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := id(t, tt.body); !tt.want(got) {
				t.Errorf("id = %q (first %q)", got, first)
			}
		})
	}
}

func with(in provider.Inbound, change func(*provider.Inbound)) provider.Inbound {
	change(&in)
	return in
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		full,
		`{"from":"+15551234567","body":"hi"}`,
		`{"from":15551234567,"body":"","to":57675,"message_id":1e3}`,
		`{"from":"00447700900123","body":"x","channel":"whatsapp","meta":{"a":"b","c":null}}`,
		`{"from":"+15551234567","body":"hi","timestamp":"2025-09-23T23:23:20.1234Z","status":"BLOCKED"}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := generic.Parse(body, "US")
		if err != nil {
			var fe *provider.FieldError
			if !errors.Is(err, provider.ErrMalformed) && !errors.As(err, &fe) {
				t.Fatalf("Parse(%q) error %v is neither ErrMalformed nor a FieldError", body, err)
			}
			return
		}
		if !strings.HasPrefix(in.From, "+") || in.Provider != generic.Name || in.Channel != model.ChannelSMS {
			t.Fatalf("Parse(%q) = %+v", body, in)
		}
		if len(in.Meta) > 20 {
			t.Fatalf("Parse(%q) meta has %d keys", body, len(in.Meta))
		}
	})
}
