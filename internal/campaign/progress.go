package campaign

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// Progress counts a campaign's recipients by where they are; the counts add up to the
// campaign's total. A draft's or a scheduled campaign's recipients are all Queued.
type Progress struct {
	Queued    int64 // not sent yet: waiting for their turn, or queued at the dispatcher
	Sent      int64 // with the provider, no final report yet
	Delivered int64
	Failed    int64
	OptedOut  int64
	// Cancelled were never sent because of a cancel: not yet queued when it came, or queued
	// and then stopped by the send job (their messages failed with campaign_cancelled).
	Cancelled int64
	// Replied is how many wrote back within the reply window (nil when not counted: it reads
	// every recipient's conversation).
	Replied *int64
}

// Done is how many recipients are past sending (whatever became of them).
func (p Progress) Done(total int64) int64 { return max(total-p.Queued, 0) }

// Progress counts cp's recipients; withReplied also counts the replies within window.
func (s *Service) Progress(ctx context.Context, cp model.Campaign, window time.Duration, withReplied bool) (Progress, error) {
	n, err := s.Store.CampaignCounts(ctx, cp.ID)
	if err != nil {
		return Progress{}, err
	}
	p := Progress{
		Queued:    n["recipient:pending"] + n["message:queued"] + n["message:sending"],
		Sent:      n["message:sent"] + n["message:unknown"],
		Delivered: n["message:delivered"],
		Failed:    n["message:failed"] + n["message:undelivered"],
		OptedOut:  n["recipient:opted_out"],
		Cancelled: n["recipient:cancelled"] + n["message:cancelled"],
	}
	if withReplied {
		replied, err := s.Store.CampaignReplied(ctx, cp.ID, window)
		if err != nil {
			return p, err
		}
		p.Replied = &replied
	}
	return p, nil
}
