// Package extremesms is the adapter for ExtremeSMS, the modem-based provider whose webhook
// carries the sender's contact details and its own opt-out (block word) decision.
package extremesms

import (
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// Name is the adapter's name in URLs (/webhooks/extremesms), configuration and stored rows.
const Name = "extremesms"

// Limits on the optional text fields, generous for real data but small enough that a hostile
// or broken sender cannot store kilobytes per field.
const (
	maxNameRunes      = 256
	maxBlockWordRunes = 64
	maxIDRunes        = 128
	maxMetaRunes      = 128
)

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
	in := provider.Inbound{Provider: Name, Channel: model.ChannelSMS}
	if in.From, err = f.Phone("from", region); err != nil {
		return provider.Inbound{}, err
	}
	if in.Body, err = f.Body("message"); err != nil {
		return provider.Inbound{}, err
	}
	if in.To, err = f.Address("receiver", region); err != nil {
		return provider.Inbound{}, err
	}
	if in.Status, err = f.Status("status"); err != nil {
		return provider.Inbound{}, err
	}
	// The block word is kept even when the status is not "blocked": it is the provider's data
	// and the operator may want to see why a rule nearly fired.
	if in.MatchedBlockWord, err = f.Text("matchedBlockWord", maxBlockWordRunes); err != nil {
		return provider.Inbound{}, err
	}
	if in.Contact, err = contact(f); err != nil {
		return provider.Inbound{}, err
	}
	in.Business = in.Contact.Business
	var stamp string
	if in.ProviderTime, stamp, err = f.Time("timestamp"); err != nil {
		return provider.Inbound{}, err
	}
	if in.ProviderMessageID, err = f.TextOrInt("messageId", maxIDRunes); err != nil {
		return provider.Inbound{}, err
	}
	// Without a timestamp no id can be derived safely (see provider.DeriveMessageID), so such
	// messages stay "" and are not de-duplicated: a rare double beats a lost message.
	if in.ProviderMessageID == "" && stamp != "" {
		in.ProviderMessageID = provider.DeriveMessageID(in.From, in.To, in.ProviderTime, in.Body)
	}
	if in.Meta, err = meta(f, stamp); err != nil {
		return provider.Inbound{}, err
	}
	return in, nil
}

// contact reads the sender's details as the provider's contact book knows them.
func contact(f provider.Fields) (c model.ContactInfo, err error) {
	if c.FirstName, err = f.Text("firstname", maxNameRunes); err != nil {
		return c, err
	}
	if c.LastName, err = f.Text("lastname", maxNameRunes); err != nil {
		return c, err
	}
	c.Business, err = f.Text("business", maxNameRunes)
	return c, err
}

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
