package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Adapter is a configured provider adapter. It may be any value: what it can do is the set of
// this package's interfaces it implements (Sender, InboundParser, StatusParser, Verifier,
// Reconciler, Injector, io.Closer, CallHandler, ConversationEvents), and every part of Ibiki asks for the one it needs. The
// adapters of the providers file also declare that set (Declarer), and a test holds the
// declaration against the implementation.
type Adapter any

// Features is a set of things an adapter can do, each standing for one interface.
type Features uint16

// The features, one per interface.
const (
	FeatureSend          Features = 1 << iota // Sender
	FeatureLookup                             // Reconciler
	FeatureInbound                            // InboundParser
	FeatureStatus                             // StatusParser
	FeatureVerify                             // Verifier
	FeatureInject                             // Injector
	FeatureClose                              // io.Closer
	FeatureVoice                              // CallHandler
	FeatureConversations                      // ConversationEvents
)

var featureNames = []string{"send", "lookup", "inbound", "status", "verify", "inject", "close", "voice", "conversations"}

// String lists the features by name: "send,lookup".
func (f Features) String() string {
	var names []string
	for i, n := range featureNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// Declarer is implemented by every adapter a providers-file entry builds: Supports says what the
// adapter does, in words an operator and a reviewer can read, and must equal Implemented.
type Declarer interface {
	Supports() Features
}

// Implemented returns the features a carries, read from the interfaces it implements.
func Implemented(a Adapter) Features {
	// In the order of the Feature constants.
	has := [...]bool{is[Sender](a), is[Reconciler](a), is[InboundParser](a), is[StatusParser](a), is[Verifier](a),
		is[Injector](a), is[io.Closer](a), is[CallHandler](a), is[ConversationEvents](a)}
	var f Features
	for i, ok := range has {
		if ok {
			f |= 1 << i
		}
	}
	return f
}

func is[T any](a Adapter) bool {
	_, ok := a.(T)
	return ok
}

// Entry is one adapter's entry of the providers file (IBIKI_PROVIDERS_FILE), or one of the
// entries Ibiki configures when the file does not.
type Entry struct {
	// Name is what URLs (/webhooks/{name}), numbers and stored messages call the adapter.
	Name string
	// Type chooses the adapter package ("twilio").
	Type string
	// Fields is the entry's JSON object without name, type and the webhook_* protection
	// fields: the adapter's own settings. Decode reads them.
	Fields json.RawMessage
	// Guard is the protection of the entry's webhooks (webhook_* fields, or IBIKI_SOURCE_*).
	Guard Guard
}

// Decode reads the entry's own fields into v. Unknown fields are refused: a typo in a
// credential's name should stop the start, not pass silently.
func (e Entry) Decode(v any) error {
	if len(bytes.TrimSpace(e.Fields)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(e.Fields))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Env is what the server gives every adapter at construction.
type Env struct {
	// HTTP makes the calls to the provider's API.
	HTTP *http.Client
	// Region reads phone numbers written without a country code (IBIKI_DEFAULT_REGION).
	Region string
	// PublicURL is IBIKI_PUBLIC_URL ("" when unset): adapters that tell their provider where to
	// call back derive the URL from it.
	PublicURL string
	// Status records the status reports an adapter produces itself (the simulator's); those that
	// arrive by webhook go through hooks to the same place.
	Status StatusSink
	// Inbound stores the messages adapters with connections of their own receive (SMPP).
	Inbound InboundSink
	Log     *slog.Logger
}

// Constructor builds an adapter from its entry. Every adapter package exports one (FromEntry),
// and the server's table of types (internal/cli/providers.go) names it once.
type Constructor func(e Entry, env Env) (Adapter, error)

// Duration is a time.Duration written as "15s" in the providers file.
type Duration time.Duration

// UnmarshalJSON reads "15s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string like \"15s\"")
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}
