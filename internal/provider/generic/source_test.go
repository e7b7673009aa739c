package generic_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/generic"
)

// The aggregator shapes of the tests: invented, but in the way Indian aggregators post their
// inbound callbacks (the seed's /sms-handler reads From/To/Body, mobile/shortcode/message…).
const (
	// seedLike is the seed's /sms-handler form: Twilio's names.
	seedLike = `{"fields":{"from":"From","to":"To","body":"Body","message_id":"MessageSid"}}`
	// karixLike names its fields mobile/shortcode/message and writes local Indian times.
	karixLike = `{"region":"IN","fields":{"from":"mobile","to":"shortcode","body":"message","message_id":"msgid","timestamp":"time"},
		"timestamp_format":"datetime","timestamp_zone":"Asia/Kolkata"}`
	// routeMobileLike posts source/destination/text with unix seconds, also as a GET.
	routeMobileLike = `{"region":"IN","fields":{"from":"source","to":"destination","body":"text","message_id":"msg_id","timestamp":"received_at"},
		"timestamp_format":"unix","allow_get":true}`
	// msg91Like posts JSON with numbers for numbers and ids, and milliseconds.
	msg91Like = `{"region":"IN","fields":{"from":"number","to":"inboundNumber","body":"content","message_id":"requestId","timestamp":"receivedAt"},
		"timestamp_format":"unix_ms"}`
)

// source builds a generic entry's source from its fields (US is the server's region, so the
// entries' own region is what reads Indian numbers).
func source(t *testing.T, fields string) interface {
	provider.InboundParser
	provider.Verifier
} {
	t.Helper()
	a, err := generic.FromEntry(provider.Entry{Name: "agg", Type: "generic", Fields: json.RawMessage(fields)}, provider.Env{Region: "US"})
	if err != nil {
		t.Fatalf("FromEntry(%s): %v", fields, err)
	}
	return a.(interface {
		provider.InboundParser
		provider.Verifier
	})
}

// request is a webhook call: a POST of body with its content type, or a GET of query.
func request(method, contentType, body, query string) provider.Request {
	r := httptest.NewRequest(method, "/webhooks/agg?"+query, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return provider.Request{HTTP: r, Body: []byte(body)}
}

const formType = "application/x-www-form-urlencoded"

func post(contentType, body string) provider.Request { return request("POST", contentType, body, "") }
func form(v url.Values) provider.Request             { return post(formType, v.Encode()) }
func get(v url.Values) provider.Request              { return request("GET", "", "", v.Encode()) }

// multipartBody encodes fields as multipart/form-data, and files as file parts.
func multipartBody(t *testing.T, fields map[string]string, files ...string) provider.Request {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range files {
		fw, err := w.CreateFormFile(name, name+".txt")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte("+919876543210"))
	}
	w.Close()
	return post(w.FormDataContentType(), b.String())
}

var ist = time.FixedZone("IST", 5*3600+1800)

func TestSourceReadsJSONAndFormsWithTheEntrysNames(t *testing.T) {
	at := time.Date(2024, 5, 1, 10, 20, 30, 0, ist).UTC()
	want := func(id string, withTime bool) provider.Inbound {
		in := provider.Inbound{Provider: "agg", ProviderMessageID: id, From: "+919876543210", To: "57675", Body: "BAL",
			Channel: model.ChannelSMS, Status: model.StatusReceived}
		if withTime {
			in.ProviderTime = at
		}
		return in
	}
	tests := []struct {
		name   string
		fields string
		req    func(t *testing.T) provider.Request
		want   provider.Inbound
	}{
		{"the default names come as JSON", `{"region":"IN"}`, func(*testing.T) provider.Request {
			return post("application/json", `{"message_id":"g1","from":"9876543210","to":"57675","body":"BAL"}`)
		}, want("g1", false)},
		{"the default names come as a form", `{"region":"IN"}`, func(*testing.T) provider.Request {
			return form(url.Values{"message_id": {"g1"}, "from": {"9876543210"}, "to": {"57675"}, "body": {"BAL"}})
		}, want("g1", false)},
		{"a form's Content-Type may carry a charset and capitals", `{"region":"IN"}`, func(*testing.T) provider.Request {
			return post("Application/X-WWW-Form-Urlencoded; charset=UTF-8", "message_id=g1&from=9876543210&to=57675&body=BAL")
		}, want("g1", false)},
		{"the default names come as a multipart form", `{"region":"IN"}`, func(t *testing.T) provider.Request {
			return multipartBody(t, map[string]string{"message_id": "g1", "from": "9876543210", "to": "57675", "body": "BAL"})
		}, want("g1", false)},
		{"JSON without a Content-Type is read as always", `{"region":"IN"}`, func(*testing.T) provider.Request {
			return post("", `{"message_id":"g1","from":"9876543210","to":"57675","body":"BAL"}`)
		}, want("g1", false)},
		{"JSON under another Content-Type is read as always", `{"region":"IN"}`, func(*testing.T) provider.Request {
			return post("text/plain", `{"message_id":"g1","from":"9876543210","to":"57675","body":"BAL"}`)
		}, want("g1", false)},
		{"the seed's /sms-handler form (From, To, Body) maps by name", seedLike, func(*testing.T) provider.Request {
			return form(url.Values{"From": {"+919876543210"}, "To": {"57675"}, "Body": {"BAL"}, "MessageSid": {"SM1"}, "AccountSid": {"AC1"}})
		}, want("SM1", false)},
		{"a Karix-like JSON callback with a local time", karixLike, func(*testing.T) provider.Request {
			return post("application/json", `{"mobile":"919876543210","shortcode":"57675","message":"BAL","msgid":"KX-1","time":"2024-05-01 10:20:30","circle":"KA"}`)
		}, want("KX-1", true)},
		{"a Karix-like form callback with a local time", karixLike, func(*testing.T) provider.Request {
			return form(url.Values{"mobile": {"919876543210"}, "shortcode": {"57675"}, "message": {"BAL"}, "msgid": {"KX-1"}, "time": {"2024-05-01 10:20:30"}})
		}, want("KX-1", true)},
		{"a Route Mobile-like form callback with unix seconds", routeMobileLike, func(*testing.T) provider.Request {
			return form(url.Values{"source": {"9876543210"}, "destination": {"57675"}, "text": {"BAL"}, "msg_id": {"RM-1"},
				"received_at": {"1714539030"}})
		}, want("RM-1", true)},
		{"a Route Mobile-like GET callback carries the same in its query", routeMobileLike, func(*testing.T) provider.Request {
			return get(url.Values{"source": {"9876543210"}, "destination": {"57675"}, "text": {"BAL"}, "msg_id": {"RM-1"},
				"received_at": {"1714539030"}, "token": {"ignored"}})
		}, want("RM-1", true)},
		{"an MSG91-like JSON callback with numbers and milliseconds", msg91Like, func(*testing.T) provider.Request {
			return post("application/json", `{"number":919876543210,"inboundNumber":57675,"content":"BAL","requestId":123456,"receivedAt":1714539030000}`)
		}, want("123456", true)},
		{"an MSG91-like callback may write its numbers as strings", msg91Like, func(*testing.T) provider.Request {
			return post("application/json", `{"number":"+919876543210","inboundNumber":"57675","content":"BAL","requestId":"123456","receivedAt":"1714539030000"}`)
		}, want("123456", true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, answer, err := source(t, tt.fields).ParseInbound(tt.req(t))
			if err != nil {
				t.Fatalf("ParseInbound: %v", err)
			}
			if len(msgs) != 1 || answer.ContentType != "" {
				t.Fatalf("ParseInbound = %d messages, answer %q", len(msgs), answer.ContentType)
			}
			if got := msgs[0]; !equalInbound(got, tt.want) {
				t.Errorf("ParseInbound =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func equalInbound(a, b provider.Inbound) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb) && a.ProviderTime.Equal(b.ProviderTime)
}

// Indian mobiles come with and without the country code; with the entry's region IN they are
// all one E.164 number, in JSON (string or number) and in forms alike. Short codes stay digits.
func TestSourceNormalisesIndianNumbers(t *testing.T) {
	src := source(t, karixLike)
	for _, from := range []string{"9876543210", "919876543210", "+919876543210", "09876543210", "98765 43210"} {
		for _, req := range map[string]provider.Request{
			"JSON": post("application/json", `{"mobile":"`+from+`","shortcode":"57675","message":"1"}`),
			"form": form(url.Values{"mobile": {from}, "shortcode": {"57675"}, "message": {"1"}}),
		} {
			msgs, _, err := src.ParseInbound(req)
			if err != nil || msgs[0].From != "+919876543210" || msgs[0].To != "57675" {
				t.Errorf("mobile %q: %+v, %v; want +919876543210 to 57675", from, msgs, err)
			}
		}
	}
	t.Run("a JSON number without the country code is read too", func(t *testing.T) {
		msgs, _, err := src.ParseInbound(post("application/json", `{"mobile":9876543210,"shortcode":57675,"message":"1"}`))
		if err != nil || msgs[0].From != "+919876543210" || msgs[0].To != "57675" {
			t.Errorf("ParseInbound = %+v, %v", msgs, err)
		}
	})
	t.Run("a 10-digit receiving number is a mobile, not a short code", func(t *testing.T) {
		msgs, _, err := src.ParseInbound(form(url.Values{"mobile": {"9876543210"}, "shortcode": {"9123456789"}, "message": {"1"}}))
		if err != nil || msgs[0].To != "+919123456789" {
			t.Errorf("ParseInbound = %+v, %v", msgs, err)
		}
	})
	t.Run("without the entry's region, the server's region reads national numbers", func(t *testing.T) {
		msgs, _, err := source(t, `{}`).ParseInbound(form(url.Values{"from": {"9876543210"}, "body": {"1"}}))
		if err != nil || msgs[0].From != "+19876543210" {
			t.Errorf("ParseInbound = %+v, %v; want the US reading", msgs, err)
		}
	})
}

func TestSourceRefusesBadFieldsByTheProvidersName(t *testing.T) {
	tests := []struct {
		name, fields  string
		req           provider.Request
		field, reason string
	}{
		{"a Karix-like callback without the sender names mobile", karixLike,
			post("application/json", `{"shortcode":"57675","message":"BAL"}`), "mobile", "required"},
		{"a Karix-like form without the text names message", karixLike,
			form(url.Values{"mobile": {"9876543210"}, "shortcode": {"57675"}}), "message", "required"},
		{"an MSG91-like callback with a fractional sender names number", msg91Like,
			post("application/json", `{"number":98765.5,"content":"x"}`), "number", "whole number"},
		{"a Route Mobile-like GET without the text names text", routeMobileLike,
			get(url.Values{"source": {"9876543210"}}), "text", "required"},
		{"a sender that is not a number names it", karixLike,
			form(url.Values{"mobile": {"call me"}, "message": {"x"}}), "mobile", "letters"},
		{"a local time in another layout names the timestamp field", karixLike,
			form(url.Values{"mobile": {"9876543210"}, "message": {"x"}, "time": {"01/05/2024 10:20"}}), "time", `"2024-05-01 10:20:30"`},
		{"an RFC 3339 time where a local one is expected is refused", karixLike,
			post("application/json", `{"mobile":"9876543210","message":"x","time":"2024-05-01T10:20:30Z"}`), "time", "written like"},
		{"unix seconds that are not digits are refused", routeMobileLike,
			form(url.Values{"source": {"9876543210"}, "text": {"x"}, "received_at": {"yesterday"}}), "received_at", "unix seconds"},
		{"negative unix milliseconds are refused", msg91Like,
			post("application/json", `{"number":9876543210,"content":"x","receivedAt":"-5"}`), "receivedAt", "unix milliseconds"},
		{"unix milliseconds past the year 9999 are refused", msg91Like,
			post("application/json", `{"number":9876543210,"content":"x","receivedAt":999999999999999999}`), "receivedAt", "unix milliseconds"},
		{"a form field given twice is refused", karixLike,
			post(formType, "mobile=9876543210&mobile=9123456789&message=x"), "mobile", "once"},
		{"a form value that is not UTF-8 is refused", karixLike,
			post(formType, "mobile=9876543210&message=%FF"), "message", "UTF-8"},
		{"a form value with a NUL byte is refused", karixLike,
			post(formType, "mobile=9876543210&message=a%00b"), "message", "NUL"},
		{"a form body over the limit is refused", seedLike,
			form(url.Values{"From": {"+919876543210"}, "Body": {strings.Repeat("a", 5001)}}), "Body", "at most 5000"},
		{"a renamed channel names the provider's field", `{"fields":{"channel":"kind"}}`,
			form(url.Values{"from": {"+15551234567"}, "body": {"x"}, "kind": {"whatsapp"}}), "kind", "supported: sms"},
		{"a renamed meta names the provider's field", `{"fields":{"meta":"extra"}}`,
			post("application/json", `{"from":"+15551234567","body":"x","extra":[1]}`), "extra", "object of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := source(t, tt.fields).ParseInbound(tt.req)
			var fe *provider.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseInbound error = %v, want a *provider.FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("error = %q / %q, want field %q with a reason containing %q", fe.Field, fe.Reason, tt.field, tt.reason)
			}
		})
	}
	t.Run("a multipart file where a field is expected names it", func(t *testing.T) {
		_, _, err := source(t, `{}`).ParseInbound(multipartBody(t, map[string]string{"body": "x"}, "from"))
		var fe *provider.FieldError
		if !errors.As(err, &fe) || fe.Field != "from" || !strings.Contains(fe.Reason, "not a file") {
			t.Errorf("ParseInbound error = %v", err)
		}
	})
}

func TestSourceRefusesBodiesItCannotRead(t *testing.T) {
	tests := []struct {
		name string
		req  provider.Request
		hint string
	}{
		{"a form with a broken escape", post(formType, "from=%2B919876543210&body=%zz"), "not a valid form"},
		{"a query with a broken escape", request("GET", "", "", "from=%zz&body=x"), "not a valid form"},
		{"a multipart body without a boundary", post("multipart/form-data", "from=x"), "boundary"},
		{"a multipart body that is not one", post("multipart/form-data; boundary=xyz", "from=x"), "multipart"},
		{"a form sent without its Content-Type", post("", "from=%2B919876543210&body=hi"), "Content-Type: application/x-www-form-urlencoded"},
		{"truncated JSON", post("application/json", `{"from":"+919876543210"`), "not valid JSON"},
		{"a JSON array", post("application/json", `[{"from":"+919876543210","body":"hi"}]`), "not a JSON object"},
	}
	src := source(t, `{"allow_get":true}`)
	for _, tt := range tests {
		t.Run(tt.name+" is malformed", func(t *testing.T) {
			_, _, err := src.ParseInbound(tt.req)
			if !errors.Is(err, provider.ErrMalformed) || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("ParseInbound error = %v, want ErrMalformed saying %q", err, tt.hint)
			}
		})
	}
}

// A message without an id gets the id derived from from, to, timestamp and body, whatever the
// encoding and names: a retried callback is the same message.
func TestSourceDerivesTheSameIDFromEveryEncoding(t *testing.T) {
	ids := map[string]string{}
	for name, c := range map[string]struct {
		fields string
		req    provider.Request
	}{
		"JSON with today's names": {`{"region":"IN"}`, post("application/json",
			`{"from":"+919876543210","to":"57675","body":"BAL","timestamp":"2024-05-01T04:50:30Z"}`)},
		"a Karix-like form with a local time": {karixLike, form(url.Values{"mobile": {"9876543210"}, "shortcode": {"57675"},
			"message": {"BAL"}, "time": {"2024-05-01 10:20:30"}})},
		"a Route Mobile-like GET with unix seconds": {routeMobileLike, get(url.Values{"source": {"919876543210"},
			"destination": {"57675"}, "text": {"BAL"}, "received_at": {"1714539030"}})},
		"MSG91-like JSON with milliseconds": {msg91Like, post("application/json",
			`{"number":919876543210,"inboundNumber":57675,"content":"BAL","receivedAt":1714539030000}`)},
	} {
		msgs, _, err := source(t, c.fields).ParseInbound(c.req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ids[name] = msgs[0].ProviderMessageID
	}
	first := ids["JSON with today's names"]
	if !strings.HasPrefix(first, "sha256:") {
		t.Fatalf("derived id = %q", first)
	}
	for name, id := range ids {
		if id != first {
			t.Errorf("%s: id %q, want %q as for JSON", name, id, first)
		}
	}
}

func TestFromEntryNamesTheBadKey(t *testing.T) {
	tests := []struct {
		name, fields string
		guard        provider.Guard
		want         string
	}{
		{"an unknown key", `{"field":{"from":"mobile"}}`, provider.Guard{}, `"field"`},
		{"a field the shape has not", `{"fields":{"sender":"mobile"}}`, provider.Guard{}, "fields.sender"},
		{"an empty name", `{"fields":{"from":""}}`, provider.Guard{}, "fields.from"},
		{"a name with spaces around it", `{"fields":{"body":" message"}}`, provider.Guard{}, "fields.body"},
		{"a name that is not a string", `{"fields":{"from":1}}`, provider.Guard{}, "fields"},
		{"a name given to two fields", `{"fields":{"from":"number","to":"number"}}`, provider.Guard{}, "fields.to"},
		{"a name taken from another field's default", `{"fields":{"from":"to"}}`, provider.Guard{}, "fields.from"},
		{"an unknown region", `{"region":"XX"}`, provider.Guard{}, "region"},
		{"a format that is no layout", `{"timestamp_format":"yyyy-mm-dd"}`, provider.Guard{}, "timestamp_format"},
		{"an unknown zone", `{"timestamp_format":"datetime","timestamp_zone":"Mars/Olympus"}`, provider.Guard{}, "timestamp_zone"},
		{"a badly written offset", `{"timestamp_format":"datetime","timestamp_zone":"+5:30"}`, provider.Guard{}, "timestamp_zone"},
		{"a zone for times that carry their own", `{"timestamp_format":"unix","timestamp_zone":"+05:30"}`, provider.Guard{}, "timestamp_zone"},
		{"GET with an HMAC signature", `{"allow_get":true}`, provider.Guard{HMACSecret: "k"}, "allow_get"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := generic.FromEntry(provider.Entry{Name: "agg", Type: "generic", Fields: json.RawMessage(tt.fields), Guard: tt.guard}, provider.Env{Region: "US"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FromEntry(%s) = %v, want an error naming %s", tt.fields, err, tt.want)
			}
		})
	}
	t.Run("GET with a token is fine", func(t *testing.T) {
		a, err := generic.FromEntry(provider.Entry{Name: "agg", Type: "generic", Fields: json.RawMessage(`{"allow_get":true}`),
			Guard: provider.Guard{Token: "t"}}, provider.Env{})
		if err != nil || !a.(provider.GETInbound).InboundByGET() {
			t.Errorf("FromEntry = %v", err)
		}
	})
	t.Run("without allow_get there is no GET", func(t *testing.T) {
		a, err := generic.FromEntry(provider.Entry{Name: "agg", Type: "generic"}, provider.Env{})
		if err != nil || a.(provider.GETInbound).InboundByGET() {
			t.Errorf("FromEntry = %v", err)
		}
	})
}

func FuzzSourceParseForm(f *testing.F) {
	for _, s := range []string{
		"mobile=919876543210&shortcode=57675&message=BAL&msgid=KX-1&time=2024-05-01+10%3A20%3A30",
		"mobile=9876543210&message=",
		"mobile=%2B919876543210&mobile=1&message=%FF",
		"message=a%00b&time=2024-13-01+10%3A20%3A30",
		"&&=&mobile", "%zz", "",
	} {
		f.Add(s)
	}
	a, err := generic.FromEntry(provider.Entry{Name: "agg", Type: "generic", Fields: json.RawMessage(karixLike)}, provider.Env{Region: "US"})
	if err != nil {
		f.Fatal(err)
	}
	src := a.(provider.InboundParser)
	f.Fuzz(func(t *testing.T, body string) {
		msgs, _, err := src.ParseInbound(post(formType, body))
		if err != nil {
			var fe *provider.FieldError
			if !errors.Is(err, provider.ErrMalformed) && !errors.As(err, &fe) {
				t.Fatalf("ParseInbound(%q) error %v is neither ErrMalformed nor a FieldError", body, err)
			}
			return
		}
		in := msgs[0]
		if !strings.HasPrefix(in.From, "+") || in.Provider != "agg" || provider.NotText(in.Body) != "" || in.Meta != nil {
			t.Fatalf("ParseInbound(%q) = %+v", body, in)
		}
		if in.ProviderMessageID == "" && !in.ProviderTime.IsZero() {
			t.Fatalf("ParseInbound(%q) has a time but no id", body)
		}
	})
}
