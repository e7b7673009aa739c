package respond_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/text"
)

// A string that is not text is a 400 naming where it is, by Decode and DecodeBytes alike.
func TestDecodeRefusesWhatIsNotText(t *testing.T) {
	tests := []struct {
		name, body, param, msg string
	}{
		{"a NUL in a field is named by the field", `{"body":"a\u0000b"}`, "body",
			"body must be text without NUL characters (U+0000)"},
		{"a NUL in an array item is named by its index", `{"messages":[{"body":"ok"},{"body":"\u0000"}]}`, "messages[1].body",
			"messages[1].body must be text without NUL characters (U+0000)"},
		{"a NUL in a map value is named by its key", `{"fields":{"code":"x\u0000"}}`, "fields.code",
			"fields.code must be text without NUL characters (U+0000)"},
		{"a NUL in a field name is named by its object", `{"fields":{"a\u0000":"x"}}`, "fields",
			"fields has a field name with a NUL character (U+0000); send text"},
		{"a NUL in a top field name is named body", `{"a\u0000":"x"}`, "body",
			"body has a field name with a NUL character (U+0000); send text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, decode := range decoders {
				var v any
				err := decode([]byte(tt.body), &v)
				var e *respond.Error
				if !errors.As(err, &e) || e.Code != "invalid_field" || e.Param != tt.param || e.Message != tt.msg {
					t.Errorf("decode %s = %v, want invalid_field %s %q", tt.body, err, tt.param, tt.msg)
				}
			}
		})
	}
	t.Run("an escaped backslash before u0000 is text", func(t *testing.T) {
		for _, decode := range decoders {
			var v struct{ Body string }
			if err := decode([]byte(`{"body":"\\u0000"}`), &v); err != nil || v.Body != `\u0000` {
				t.Errorf("decode = %q, %v", v.Body, err)
			}
		}
	})
}

func TestNotTextSaysWhatTheParameterHolds(t *testing.T) {
	for f, want := range map[text.Flaw]string{
		text.NUL:     "q must be text without NUL characters (U+0000)",
		text.NotUTF8: "q must be text: it holds bytes that are not UTF-8",
	} {
		if e := respond.NotText("q", f); e.Status != http.StatusBadRequest || e.Code != "invalid_field" || e.Param != "q" || e.Message != want {
			t.Errorf("NotText(q, %v) = %+v, want %q", f, e, want)
		}
	}
}

// decoders are Decode (through a request) and DecodeBytes: both apply the same rules.
var decoders = []func(body []byte, v any) error{
	func(body []byte, v any) error {
		r, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
		return respond.Decode(r, v)
	},
	respond.DecodeBytes,
}

// FuzzDecodeBytes: whatever the body, what Decode and DecodeBytes accept holds only text (a
// NUL is refused; bytes that are not UTF-8 and escaped surrogate halves are read as U+FFFD),
// and the two agree.
func FuzzDecodeBytes(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":"\u0000"}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":["\udfff",{"\u0000":1}]}`,
		"{\"\xc3(\":\"x\"}", `{"a":"\\u0000"}`, `[1]`, `{"a":1} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fromBytes, fromRequest any
		err := respond.DecodeBytes(body, &fromBytes)
		r, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
		if err2 := respond.Decode(r, &fromRequest); (err == nil) != (err2 == nil) {
			t.Fatalf("DecodeBytes = %v but Decode = %v", err, err2)
		}
		if err != nil {
			return
		}
		if s, ok := firstNotText(fromBytes); ok {
			t.Fatalf("DecodeBytes(%q) accepted %q, which is not text", body, s)
		}
	})
}

// firstNotText finds a string that is not text in a decoded JSON value (keys included).
func firstNotText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, !text.Valid(v)
	case []any:
		for _, x := range v {
			if s, ok := firstNotText(x); ok {
				return s, true
			}
		}
	case map[string]any:
		for k, x := range v {
			if !text.Valid(k) {
				return k, true
			}
			if s, ok := firstNotText(x); ok {
				return s, true
			}
		}
	}
	return "", false
}

// Bytes that are not UTF-8, in values and in names, and escaped surrogate halves are decoded
// as U+FFFD: text, which is why checkText looks for NUL characters only.
func TestDecodeReadsBytesThatAreNotUTF8AsReplacementCharacters(t *testing.T) {
	var v map[string]string
	if err := respond.DecodeBytes([]byte("{\"a\":\"x\xffy\",\"b\":\"\\ud800\",\"c\xc3(\":\"\"}"), &v); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(v)
	if v["a"] != "x\uFFFDy" || v["b"] != "\uFFFD" || !strings.Contains(string(got), "c\uFFFD(") {
		t.Errorf("decoded %q", v)
	}
}
