package generic

import "github.com/ibiki/ibiki/internal/provider"

// FromEntry builds the source of a providers-file entry: the generic inbound shape (see Parse)
// at POST /webhooks/{name}. It has no fields of its own, only the webhook protection every
// entry may carry.
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	if err := e.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	return &provider.JSONSource{Name: e.Name, Region: env.Region, Guard: e.Guard, Parse: Parse}, nil
}
