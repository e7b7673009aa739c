package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// configured reports whether the aggregator's delivery reports are mapped: only then does
// the adapter take status callbacks.
func (s StatusConfig) configured() bool { return s.IDPath != "" && s.StatusPath != "" }

// Verify applies the entry's webhook protection, then, on a status callback, the status token
// (in TokenHeader or ?token=).
func (c *Client) Verify(r provider.Request) error {
	if err := c.guard.Verify(r); err != nil {
		return err
	}
	st := c.cfg.Status
	if !r.Status || st.Token == "" {
		return nil
	}
	got := r.HTTP.Header.Get(st.TokenHeader)
	if got == "" {
		got = r.HTTP.URL.Query().Get("token")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(st.Token)) != 1 {
		return provider.ErrUnauthorized
	}
	return nil
}

// ParseStatus reads a verified delivery report as configured in Status: one JSON report or a
// list of them; reports with a status word the map does not know are left out.
func (c *Client) ParseStatus(r provider.Request) ([]provider.StatusUpdate, error) {
	st := c.cfg.Status
	var doc any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		return nil, fmt.Errorf("%w: status report is not JSON", provider.ErrMalformed)
	}
	reports := []any{doc}
	if list, ok := doc.([]any); ok {
		reports = list
	}
	var out []provider.StatusUpdate
	for _, rep := range reports {
		id, word := Path(rep, st.IDPath), Path(rep, st.StatusPath)
		var status string
		for k, v := range st.Map {
			if strings.EqualFold(k, word) {
				status = v
			}
		}
		if id == "" || status == "" {
			continue
		}
		out = append(out, provider.StatusUpdate{ProviderMessageID: id, Status: model.MessageStatus(status),
			ErrorCode: Path(rep, st.ErrorPath)})
	}
	return out, nil
}
