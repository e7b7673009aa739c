package cli

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/provider"
)

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// protectionPrefix starts the fields every entry may have, whatever its type: the protection
// of its webhooks (provider.Guard).
const protectionPrefix = "webhook_"

// protection is an entry's webhook_* fields.
type protection struct {
	Token       string   `json:"webhook_token"`
	TokenHeader string   `json:"webhook_token_header"`
	HMACSecret  string   `json:"webhook_hmac_secret"`
	HMACHeader  string   `json:"webhook_hmac_header"`
	AllowIPs    []string `json:"webhook_allow_ips"`
}

// parseEntry splits one entry of the file into its name, its type, its webhook protection and
// its own fields, which its adapter reads (and refuses when it does not know one).
func parseEntry(raw json.RawMessage) (provider.Entry, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return provider.Entry{}, err
	}
	var e provider.Entry
	_ = json.Unmarshal(fields["name"], &e.Name)
	_ = json.Unmarshal(fields["type"], &e.Type)
	if !providerName.MatchString(e.Name) {
		return e, fmt.Errorf("name %q must be 1-32 characters of a-z, 0-9, _ and -", e.Name)
	}
	delete(fields, "name")
	delete(fields, "type")
	guard := map[string]json.RawMessage{}
	for k, v := range fields {
		if strings.HasPrefix(k, protectionPrefix) {
			guard[k] = v
			delete(fields, k)
		}
	}
	var err error
	if e.Guard, err = parseProtection(guard); err != nil {
		return e, fmt.Errorf("%s: %w", e.Name, err)
	}
	e.Fields, _ = json.Marshal(fields) // raw JSON values always encode
	return e, nil
}

// parseProtection reads the webhook_* fields; an unknown one is refused like any misspelt field.
func parseProtection(fields map[string]json.RawMessage) (provider.Guard, error) {
	if len(fields) == 0 {
		return provider.Guard{}, nil
	}
	b, _ := json.Marshal(fields)
	var p protection
	if err := strict(b, &p); err != nil {
		return provider.Guard{}, err
	}
	nets, err := config.ParsePrefixes(strings.Join(p.AllowIPs, ","))
	if err != nil {
		return provider.Guard{}, fmt.Errorf("webhook_allow_ips: %w", err)
	}
	return provider.Guard{Token: p.Token, TokenHeader: p.TokenHeader, HMACSecret: p.HMACSecret, HMACHeader: p.HMACHeader,
		AllowNets: nets}, nil
}
