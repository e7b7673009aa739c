package simulator

import (
	"errors"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/sms"
)

// entryFields are a simulator entry's own fields in the providers file.
type entryFields struct {
	Rate         float64           `json:"rate"`
	Latency      provider.Duration `json:"latency"`
	FailureRatio float64           `json:"failure_ratio"`
}

// FromEntry builds the simulator of a providers-file entry: {"rate", "latency",
// "failure_ratio"}. Its reports go to env.Status under the entry's name.
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	var f entryFields
	if err := e.Decode(&f); err != nil {
		return nil, err
	}
	if f.FailureRatio < 0 || f.FailureRatio > 1 {
		return nil, errors.New("failure_ratio must be from 0 to 1")
	}
	return New(Config{Name: e.Name, Rate: f.Rate, Latency: time.Duration(f.Latency), FailureRatio: f.FailureRatio,
		Status: env.Status, Region: env.Region, Log: env.Log}), nil
}

// Inject returns a contact's message as if the simulator had received it, under the
// simulator's name and with a new simulator id. from must be a phone number; to, when given, a
// number or short code; body must not be empty (spaces are a message).
func (s *Simulator) Inject(m provider.Injection) (provider.Inbound, error) {
	in := provider.Inbound{Provider: s.cfg.Name, Channel: model.ChannelSMS, Status: model.StatusReceived, Body: m.Body}
	var err error
	if strings.TrimSpace(m.From) == "" {
		return in, provider.Required("from")
	}
	if in.From, err = sms.NormalizeE164(m.From, s.cfg.Region); err != nil {
		return in, &provider.FieldError{Field: "from", Reason: err.Error()}
	}
	if m.Body == "" {
		return in, provider.Required("body")
	}
	if m.To != "" {
		if in.To, err = sms.NormalizeAddress(m.To, s.cfg.Region); err != nil {
			return in, &provider.FieldError{Field: "to", Reason: err.Error()}
		}
	}
	in.ProviderMessageID = model.NewID("sim")
	return in, nil
}
