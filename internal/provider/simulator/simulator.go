// Package simulator is a provider that sends nothing: it accepts messages, gives them provider
// ids and reports them sent and then delivered (or failed, at a configured ratio) after a
// configured latency. It is the default provider, for trying Ibiki out, demos and load tests,
// and is labelled "simulator" wherever it appears.
package simulator

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// Config tunes the simulator.
type Config struct {
	// Rate is the throughput limit in messages per second (0 = unlimited).
	Rate float64
	// Latency is the time from a send to its final report (default 200 ms; every message is
	// final within a second).
	Latency time.Duration
	// FailureRatio is the share of messages reported undelivered (0–1).
	FailureRatio float64
}

// Simulator is the simulated provider.
type Simulator struct {
	cfg Config
	// Report receives the simulated delivery reports (set before the first Send).
	Report func(updates []provider.StatusUpdate)

	mu     sync.Mutex
	ids    map[string]string // Ibiki message id → simulator id: repeats are recognised
	order  []string          // message ids in send order, to forget the oldest
	sends  int
	closed bool
}

// keep bounds the ids remembered for idempotency and lookup.
const keep = 1_000_000

// New returns a simulator.
func New(cfg Config) *Simulator {
	if cfg.Latency <= 0 {
		cfg.Latency = 200 * time.Millisecond
	}
	return &Simulator{cfg: cfg, ids: map[string]string{}}
}

// Capabilities: the simulator sends from any number and recognises repeats.
func (s *Simulator) Capabilities() provider.Capabilities {
	return provider.Capabilities{ChooseSender: true, Idempotent: true, MaxPerSecond: s.cfg.Rate}
}

// Send accepts a message and schedules its delivery report. A repeat of a message id answers
// the first provider id and sends nothing more.
func (s *Simulator) Send(_ context.Context, m provider.Outbound) (provider.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[m.MessageID]; ok {
		return provider.SendResult{ProviderMessageID: id, Status: model.StatusSent}, nil
	}
	id := model.NewID("sim")
	s.ids[m.MessageID] = id
	s.order = append(s.order, m.MessageID)
	if len(s.order) > keep {
		delete(s.ids, s.order[0])
		s.order = s.order[1:]
	}
	s.sends++
	status, code, msg := model.StatusDelivered, "", ""
	if s.cfg.FailureRatio > 0 && rand.Float64() < s.cfg.FailureRatio {
		status, code, msg = model.StatusUndelivered, "sim_undelivered", "the simulator's configured failure ratio"
	}
	time.AfterFunc(s.cfg.Latency, func() {
		s.mu.Lock()
		closed, report := s.closed, s.Report
		s.mu.Unlock()
		if !closed && report != nil {
			report([]provider.StatusUpdate{{ProviderMessageID: id, Status: status, ErrorCode: code, ErrorMessage: msg}})
		}
	})
	return provider.SendResult{ProviderMessageID: id, Status: model.StatusSent}, nil
}

// Lookup finds an earlier send of a message id.
func (s *Simulator) Lookup(_ context.Context, messageID string) (provider.SendResult, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[messageID]
	return provider.SendResult{ProviderMessageID: id, Status: model.StatusSent}, ok, nil
}

// Sends returns how many distinct messages the simulator accepted.
func (s *Simulator) Sends() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends
}

// Close stops delivery reports (the server is shutting down).
func (s *Simulator) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}
