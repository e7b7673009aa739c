// Package extremesms is the adapter for ExtremeSMS, the modem-based provider whose webhook
// carries the sender's contact details and its own opt-out (block word) decision. An entry
// takes that webhook at POST /webhooks/{name} (Source; the entry named extremesms also at
// /webhook/incoming-sms); one with sending credentials also sends, through ExtremeSMS's API as a
// preset of the generic HTTP adapter (Adapter, NewSender).
package extremesms

import (
	"github.com/ibiki/ibiki/internal/provider"
)

// Name is the adapter's type, and the name of the entry configured by default, hence the
// provider of the messages posted to /webhooks/extremesms (Parse records it).
const Name = "extremesms"

// maxMetaRunes bounds the modem details, like the common fields' limits in provider.
const maxMetaRunes = 128

// Parse reads one ExtremeSMS inbound webhook, documented as:
//
//	{"from": "+15551234567", "firstname": "Ann", "lastname": "Lee", "business": "acme",
//	 "message": "hello", "status": "received", "matchedBlockWord": null,
//	 "receiver": "+15557654321", "usedmodem": "3", "port": "12",
//	 "timestamp": "2025-09-23T23:23:20.887Z", "messageId": "68d32be5acc9914eed77720d"}
//
// Only from and message are required; any other field may be null or missing, and unknown
// fields are ignored so that the provider can add some without breaking us. region is the
// country assumed for numbers written without a country code. Errors are provider.ErrMalformed
// (not a JSON object) or a *provider.FieldError naming the JSON field.
func Parse(body []byte, region string) (provider.Inbound, error) {
	f, err := provider.DecodeFields(body)
	if err != nil {
		return provider.Inbound{}, err
	}
	in, stamp, err := f.Common(names, region)
	if err != nil {
		return provider.Inbound{}, err
	}
	in.Provider = Name
	if in.Meta, err = meta(f, stamp); err != nil {
		return provider.Inbound{}, err
	}
	return in, nil
}

// names are ExtremeSMS's JSON names for the common fields.
var names = provider.Names{From: "from", Body: "message", To: "receiver", Status: "status",
	BlockWord: "matchedBlockWord", FirstName: "firstname", LastName: "lastname", Business: "business",
	Timestamp: "timestamp", MessageID: "messageId"}

// meta keeps the modem details for the operator; nil when there are none, so that nothing
// empty is stored.
func meta(f provider.Fields, stamp string) (map[string]string, error) {
	m := map[string]string{}
	for _, name := range []string{"usedmodem", "port"} {
		v, err := f.TextOrInt(name, maxMetaRunes)
		if err != nil {
			return nil, err
		}
		if v != "" {
			m[name] = v
		}
	}
	if stamp != "" {
		// The original text keeps the provider's precision and offset, which ProviderTime (UTC)
		// does not.
		m["provider_timestamp"] = stamp
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
