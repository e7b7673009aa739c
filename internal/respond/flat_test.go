package respond

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// sendShape is the body of a send, the request decodeFlat is for.
type sendShape struct {
	To   *string `json:"to"`
	Body string  `json:"body"`
	From string  `json:"from,omitempty"`
	note string
}

// slowDecode is DecodeBytes without the flat path: encoding/json with Decode's rules.
func slowDecode(body []byte, v any) error {
	return decode(json.NewDecoder(bytes.NewReader(body)), v)
}

// checkFlat: when decodeFlat reads a body, encoding/json reads it too, to the same value;
// when it declines, it has left v as it was.
func checkFlat(t *testing.T, body []byte) {
	t.Helper()
	var fast, slow sendShape
	if !decodeFlat(body, &fast) {
		if !reflect.DeepEqual(fast, sendShape{}) {
			t.Fatalf("%q: declined but wrote %+v", body, fast)
		}
		return
	}
	if err := slowDecode(body, &slow); err != nil {
		t.Fatalf("%q: flat path read %+v, encoding/json refuses it: %v", body, fast, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q: flat path read %+v, encoding/json %+v", body, fast, slow)
	}
}

func TestFlatDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{"to":"+46701234567","body":"kbench mt 1"}`,
		` { "to" : "a" , "body" : "b", "from":"c" } `,
		`{}`, `{"to":""}`, `{"body":"héllo €"}`,
		`{"to":"a","to":"b"}`, `{"To":"a"}`, `{"note":"x"}`, `{"to":null}`, `{"to":1}`, `{"to":"a\"b"}`,
		`{"to":"a"}}`, `{"to":"a"} x`, `{"to":"a",}`, `{"to":"a"`, "{\"to\":\"\xff\"}", "{\"to\":\"a\tb\"}",
		"{\"to\":\"\xed\xa0\x80\"}", `[]`, ``, `"to"`,
	} {
		checkFlat(t, []byte(s))
	}
}

func TestFlatDecodeReadsTheSendShape(t *testing.T) {
	var in sendShape
	if !decodeFlat([]byte(`{"to":"+46701234567","body":"hi"}`), &in) || in.To == nil || *in.To != "+46701234567" || in.Body != "hi" {
		t.Fatalf("decodeFlat declined or misread the common send: %+v", in)
	}
}

func TestFlatDecodeDeclinesOtherTypes(t *testing.T) {
	type withInt struct {
		N int `json:"n"`
	}
	type untagged struct{ To string }
	type folded struct {
		A string `json:"a"`
		B string `json:"A_"`
	}
	var m map[string]any
	for _, v := range []any{&withInt{}, &untagged{}, &folded{}, &m, sendShape{}} {
		if decodeFlat([]byte(`{"n":"1","To":"x","a":"y"}`), v) {
			t.Errorf("decodeFlat read into %T", v)
		}
	}
}

func FuzzFlatDecode(f *testing.F) {
	for _, s := range []string{`{"to":"+46701234567","body":"kbench mt 1"}`, `{"to":"a","body":"b","from":"c"}`, `{}`, `{"to":"a"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFlat(t, body) })
}
