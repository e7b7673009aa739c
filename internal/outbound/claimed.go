package outbound

import (
	"context"

	"github.com/ibiki/ibiki/internal/metrics"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// The send job's first step for a whole claimed batch: in the transaction that claims the jobs,
// one statement records the attempt ("sending") of every message that can go straight to its
// provider, so that each of them costs no read of its own, no commit of its own before the
// call, and no wait for that commit (dispatch ran three commits deep per message before). The
// runs then only call the provider and record the answer. A message this step leaves alone
// (a campaign's, one whose provider is throttled or recognises repeats, one whose recipient
// opted out, one already in doubt) is judged by its run step by step, as before (Handle).

// claimed is the send kind's queue.Kind.Claimed: it runs inside the claim's transaction.
func (s *Service) claimed(ctx context.Context, tx *store.Tx, jobs []model.Job) error {
	providers := s.direct()
	if len(providers) == 0 {
		return nil
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.Ref
	}
	now := s.Clock().UTC()
	started, err := tx.StartSends(ctx, ids, providers, now)
	if err != nil {
		return err
	}
	for _, m := range started {
		if err := s.event(ctx, tx, m, model.EventMessageStatus, now); err != nil {
			return err
		}
	}
	if len(started) == 0 {
		return nil
	}
	// After the commit and before the runs start (queue.Kind.Claimed): each run finds its
	// message here.
	tx.AfterCommit(func() {
		s.keepStarted(started...)
		for _, m := range started {
			metrics.OutboundStatus.WithLabelValues(m.Provider, string(model.StatusSending)).Inc()
		}
	})
	return nil
}

// direct names the providers whose messages the claim may record as "sending": those that need
// the attempt recorded before the call (they could not recognise a repeat) and have no
// throttle to wait for (a wait after the attempt is recorded would hold a message in doubt).
func (s *Service) direct() []string {
	var out []string
	for _, name := range s.Providers.Names() {
		if p, ok := s.Providers.Get(name); ok {
			if caps := p.Capabilities(); recordFirst(caps, false) && caps.MaxPerSecond <= 0 {
				out = append(out, name)
			}
		}
	}
	return out
}

// takeStarted returns, once, the message (the job's Ref) the claim of its job recorded as
// "sending".
func (s *Service) takeStarted(id string) (model.Message, bool) {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	m, ok := s.started[id]
	if ok {
		delete(s.started, id)
	}
	return m, ok
}

// keepStarted keeps messages recorded as "sending" for their runs (takeStarted).
func (s *Service) keepStarted(ms ...model.Message) {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.started == nil {
		s.started = map[string]model.Message{}
	}
	for _, m := range ms {
		s.started[m.ID] = m
	}
}
