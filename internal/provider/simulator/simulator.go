// Package simulator is a provider that sends nothing: it accepts messages as sent, gives them
// provider ids (sim_…) and, after a configured latency, reports them delivered (or undelivered,
// sim_undelivered, at a configured ratio) through the status sink every provider's reports go
// to (provider.Env.Status). It is the default provider, for trying Ibiki out, demos and load
// tests, and is labelled with its entry's name ("simulator" unless a providers file names it
// otherwise) wherever it appears. It also plays the contacts: the operator injects their
// replies through it (Inject).
package simulator

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// Config tunes the simulator.
type Config struct {
	// Name is the provider name its reports and injected messages carry (default "simulator").
	Name string
	// Rate is the throughput limit in messages per second (0 = unlimited).
	Rate float64
	// Latency is the time from a send to its final report (default 200 ms; every message is
	// final within a second).
	Latency time.Duration
	// FailureRatio is the share of messages reported undelivered (0–1).
	FailureRatio float64
	// Status receives the simulated delivery reports, as a real provider's callbacks reach it
	// through hooks (nil: none are reported).
	Status provider.StatusSink
	// Region reads injected numbers written without a country code.
	Region string
	// Log receives the reports that could not be applied (nil: they are dropped silently).
	Log *slog.Logger
}

// Simulator is the simulated provider.
type Simulator struct {
	cfg Config

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
	if cfg.Name == "" {
		cfg.Name = "simulator"
	}
	return &Simulator{cfg: cfg, ids: map[string]string{}}
}

// Supports: the simulator sends, looks sends up, plays contacts and stops reporting on Close.
func (s *Simulator) Supports() provider.Features {
	return provider.FeatureSend | provider.FeatureLookup | provider.FeatureInject | provider.FeatureClose
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
	u := provider.StatusUpdate{ProviderMessageID: id, Status: model.StatusDelivered}
	if s.cfg.FailureRatio > 0 && rand.Float64() < s.cfg.FailureRatio {
		u.Status, u.ErrorCode, u.ErrorMessage = model.StatusUndelivered, "sim_undelivered", "the simulator's configured failure ratio"
	}
	time.AfterFunc(s.cfg.Latency, func() { s.report(u) })
	return provider.SendResult{ProviderMessageID: id, Status: model.StatusSent}, nil
}

// report hands one delivery report to the status sink, unless the server is stopping.
func (s *Simulator) report(u provider.StatusUpdate) {
	if s.isClosed() || s.cfg.Status == nil {
		return
	}
	err := s.cfg.Status.ApplyStatus(context.Background(), s.cfg.Name, []provider.StatusUpdate{u})
	// A report that fails because the server closed meanwhile is no news.
	if err != nil && !s.isClosed() && s.cfg.Log != nil {
		s.cfg.Log.Warn("simulator: status report not applied", "error", err)
	}
}

func (s *Simulator) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
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
func (s *Simulator) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
