package extremesms_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/extremesms"
)

// seed is the example payload from the provider's documentation.
const seed = `{"from":"+15551234567","firstname":"Ann","lastname":"Lee","business":"acme",
	"message":"Hello there","status":"received","matchedBlockWord":null,
	"receiver":"+15557654321","usedmodem":"modem-3","port":"12",
	"timestamp":"2025-09-23T23:23:20.887Z","messageId":"68d32be5acc9914eed77720d"}`

func TestParseAcceptsValidPayloads(t *testing.T) {
	minimal := provider.Inbound{
		Provider: extremesms.Name, From: "+15551234567", Body: "hi",
		Channel: model.ChannelSMS, Status: model.StatusReceived,
	}
	tests := []struct {
		name string
		body string
		want provider.Inbound
	}{
		{"the documented payload maps onto every field", seed, provider.Inbound{
			Provider:          extremesms.Name,
			ProviderMessageID: "68d32be5acc9914eed77720d",
			From:              "+15551234567",
			To:                "+15557654321",
			Body:              "Hello there",
			Channel:           model.ChannelSMS,
			Status:            model.StatusReceived,
			Business:          "acme",
			Contact:           model.ContactInfo{FirstName: "Ann", LastName: "Lee", Business: "acme"},
			ProviderTime:      time.Date(2025, 9, 23, 23, 23, 20, 887_000_000, time.UTC),
			Meta: map[string]string{
				"usedmodem": "modem-3", "port": "12", "provider_timestamp": "2025-09-23T23:23:20.887Z",
			},
		}},
		{"only from and message are needed", `{"from":"+15551234567","message":"hi"}`, minimal},
		{"null optional fields are the same as missing ones",
			`{"from":"+15551234567","message":"hi","firstname":null,"lastname":null,"business":null,
			"status":null,"matchedBlockWord":null,"receiver":null,"usedmodem":null,"port":null,
			"timestamp":null,"messageId":null}`, minimal},
		{"empty optional strings are the same as missing ones",
			`{"from":"+15551234567","message":"hi","firstname":"","status":"","receiver":"",
			"timestamp":"","messageId":"","usedmodem":"","port":""}`, minimal},
		{"unknown fields are ignored", `{"from":"+15551234567","message":"hi","new":{"x":[1,true]}}`, minimal},
		{"an empty message is still a message", `{"from":"+15551234567","message":""}`,
			with(minimal, func(in *provider.Inbound) { in.Body = "" })},
		{"the message keeps its surrounding spaces", `{"from":"+15551234567","message":"  hi  "}`,
			with(minimal, func(in *provider.Inbound) { in.Body = "  hi  " })},
		{"a national sender number takes the region's code", `{"from":"(555) 123-4567","message":"hi"}`, minimal},
		{"numbers may come as JSON numbers",
			`{"from":15551234567,"message":"hi","receiver":57675,"usedmodem":3,"port":12,"messageId":987654321}`,
			with(minimal, func(in *provider.Inbound) {
				in.To = "57675"
				in.ProviderMessageID = "987654321"
				in.Meta = map[string]string{"usedmodem": "3", "port": "12"}
			})},
		{"a blocked status keeps the matched word", `{"from":"+15551234567","message":"STOP","status":"BLOCKED","matchedBlockWord":"stop"}`,
			with(minimal, func(in *provider.Inbound) {
				in.Body, in.Status, in.MatchedBlockWord = "STOP", model.StatusBlocked, "stop"
			})},
		{"a matched word without a blocked status is kept as data", `{"from":"+15551234567","message":"hi","status":"Received","matchedBlockWord":"stop"}`,
			with(minimal, func(in *provider.Inbound) { in.MatchedBlockWord = "stop" })},
		{"contact names are trimmed", `{"from":"+15551234567","message":"hi","firstname":" Ann ","lastname":"Lee  ","business":" acme"}`,
			with(minimal, func(in *provider.Inbound) {
				in.Contact = model.ContactInfo{FirstName: "Ann", LastName: "Lee", Business: "acme"}
				in.Business = "acme"
			})},
		{"a short code receiver stays plain digits", `{"from":"+15551234567","message":"hi","receiver":"57675"}`,
			with(minimal, func(in *provider.Inbound) { in.To = "57675" })},
		{"a timestamp with an offset is converted to UTC", `{"from":"+15551234567","message":"hi","timestamp":"2025-09-23T20:23:20-03:00","messageId":"m1"}`,
			with(minimal, func(in *provider.Inbound) {
				in.ProviderMessageID = "m1"
				in.ProviderTime = time.Date(2025, 9, 23, 23, 23, 20, 0, time.UTC)
				in.Meta = map[string]string{"provider_timestamp": "2025-09-23T20:23:20-03:00"}
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := extremesms.Parse([]byte(tt.body), "US")
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
	tests := []struct {
		name   string
		body   string
		field  string
		reason string
	}{
		{"a missing sender is refused", `{"message":"hi"}`, "from", "required"},
		{"a null sender is refused", `{"from":null,"message":"hi"}`, "from", "required"},
		{"an empty sender is refused", `{"from":" ","message":"hi"}`, "from", "required"},
		{"a sender with letters is refused", `{"from":"+1555CALLNOW","message":"hi"}`, "from", "letters"},
		{"a whatsapp sender is refused", `{"from":"whatsapp:+15551234567","message":"hi"}`, "from", "prefix"},
		{"a boolean sender is refused", `{"from":true,"message":"hi"}`, "from", "must be a string"},
		{"a fractional sender number is refused", `{"from":1.5,"message":"hi"}`, "from", "whole number"},
		{"a negative sender number is refused", `{"from":-15551234567,"message":"hi"}`, "from", "whole number"},
		{"a missing message is refused", `{"from":"+15551234567"}`, "message", "required"},
		{"a null message is refused", `{"from":"+15551234567","message":null}`, "message", "required"},
		{"a numeric message is refused", `{"from":"+15551234567","message":42}`, "message", "must be a string"},
		{"a message over 5000 characters is refused", `{"from":"+15551234567","message":"` + strings.Repeat("é", 5001) + `"}`, "message", "at most 5000"},
		{"a message with a NUL byte is refused", `{"from":"+15551234567","message":"a\u0000b"}`, "message", "NUL"},
		{"a bad receiver is refused", `{"from":"+15551234567","message":"hi","receiver":"12"}`, "receiver", "too short"},
		{"an object receiver is refused", `{"from":"+15551234567","message":"hi","receiver":{}}`, "receiver", "must be a string"},
		{"an unknown status is refused", `{"from":"+15551234567","message":"hi","status":"sent"}`, "status", "received, blocked"},
		{"a long block word is refused", `{"from":"+15551234567","message":"hi","matchedBlockWord":"` + strings.Repeat("x", 65) + `"}`, "matchedBlockWord", "at most 64"},
		{"a numeric block word is refused", `{"from":"+15551234567","message":"hi","matchedBlockWord":1}`, "matchedBlockWord", "must be a string"},
		{"an object first name is refused", `{"from":"+15551234567","message":"hi","firstname":{"a":1}}`, "firstname", "must be a string"},
		{"an array last name is refused", `{"from":"+15551234567","message":"hi","lastname":["Lee"]}`, "lastname", "must be a string"},
		{"a long business is refused", `{"from":"+15551234567","message":"hi","business":"` + strings.Repeat("b", 257) + `"}`, "business", "at most 256"},
		{"a first name with a NUL byte is refused", `{"from":"+15551234567","message":"hi","firstname":"A\u0000"}`, "firstname", "NUL"},
		{"a timestamp that is not RFC 3339 is refused", `{"from":"+15551234567","message":"hi","timestamp":"23/09/2025 23:23"}`, "timestamp", "RFC 3339"},
		{"a numeric timestamp is refused", `{"from":"+15551234567","message":"hi","timestamp":1758669800}`, "timestamp", "must be a string"},
		{"a long message id is refused", `{"from":"+15551234567","message":"hi","messageId":"` + strings.Repeat("i", 129) + `"}`, "messageId", "at most 128"},
		{"a fractional message id is refused", `{"from":"+15551234567","message":"hi","messageId":1.5}`, "messageId", "whole number"},
		{"a boolean modem is refused", `{"from":"+15551234567","message":"hi","usedmodem":false}`, "usedmodem", "must be a string"},
		{"a fractional port is refused", `{"from":"+15551234567","message":"hi","port":1.5}`, "port", "whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := extremesms.Parse([]byte(tt.body), "US")
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
		{"a body of spaces is malformed", "   "},
		{"a JSON null is malformed", "null"},
		{"a JSON array is malformed", "[]"},
		{"a JSON string is malformed", `"from"`},
		{"a JSON number is malformed", "42"},
		{"truncated JSON is malformed", "{"},
		{"trailing garbage after the object is malformed", `{"from":"+15551234567","message":"hi"} x`},
		{"a form body is malformed", "from=%2B15551234567&message=hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := extremesms.Parse([]byte(tt.body), "US"); !errors.Is(err, provider.ErrMalformed) {
				t.Errorf("Parse(%q) error = %v, want ErrMalformed", tt.body, err)
			}
		})
	}
}

func TestParseDerivesAStableIDWhenThereIsNone(t *testing.T) {
	const retry = `{"from":"+15551234567","message":"hi","receiver":"57675","timestamp":"2025-09-23T23:23:20.887Z"}`
	id := func(t *testing.T, body string) string {
		t.Helper()
		in, err := extremesms.Parse([]byte(body), "US")
		if err != nil {
			t.Fatalf("Parse(%s): %v", body, err)
		}
		return in.ProviderMessageID
	}
	first := id(t, retry)
	tests := []struct {
		name string
		body string
		same bool
	}{
		{"a retry of the same webhook gets the same id", retry, true},
		{"the same message in another number format gets the same id",
			`{"from":"15551234567","message":"hi","receiver":57675,"timestamp":"2025-09-23T23:23:20.887+00:00","firstname":"Ann"}`, true},
		{"another text gets another id", strings.Replace(retry, `"hi"`, `"hi!"`, 1), false},
		{"another time gets another id", strings.Replace(retry, "20.887Z", "21.887Z", 1), false},
		{"another receiver gets another id", strings.Replace(retry, "57675", "57676", 1), false},
		{"another sender gets another id", strings.Replace(retry, "+15551234567", "+15551234568", 1), false},
	}
	if !strings.HasPrefix(first, "sha256:") || len(first) != len("sha256:")+32 {
		t.Fatalf("derived id = %q, want sha256: and 32 hex digits", first)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := id(t, tt.body); (got == first) != tt.same {
				t.Errorf("id = %q, first = %q, want same = %v", got, first, tt.same)
			}
		})
	}
	t.Run("a message without timestamp gets no id", func(t *testing.T) {
		if got := id(t, `{"from":"+15551234567","message":"hi"}`); got != "" {
			t.Errorf("id = %q, want empty", got)
		}
	})
	t.Run("a given id wins over a derived one", func(t *testing.T) {
		if got := id(t, strings.Replace(retry, "}", `,"messageId":"abc"}`, 1)); got != "abc" {
			t.Errorf("id = %q, want abc", got)
		}
	})
}

func with(in provider.Inbound, change func(*provider.Inbound)) provider.Inbound {
	change(&in)
	return in
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		seed,
		`{"from":"+15551234567","message":"hi"}`,
		`{"from":15551234567,"message":"","receiver":57675,"port":1.5}`,
		`{"from":"447700900123","message":"STOP","status":"blocked","matchedBlockWord":"stop","timestamp":"2025-09-23T23:23:20Z"}`,
		`{"from":null,"message":null}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := extremesms.Parse(body, "US")
		if err != nil {
			var fe *provider.FieldError
			if !errors.Is(err, provider.ErrMalformed) && !errors.As(err, &fe) {
				t.Fatalf("Parse(%q) error %v is neither ErrMalformed nor a FieldError", body, err)
			}
			return
		}
		if !strings.HasPrefix(in.From, "+") || in.Provider != extremesms.Name || in.Channel != model.ChannelSMS {
			t.Fatalf("Parse(%q) = %+v", body, in)
		}
		if in.Status != model.StatusReceived && in.Status != model.StatusBlocked {
			t.Fatalf("Parse(%q) status = %q", body, in.Status)
		}
	})
}
