package outbound

import (
	"context"

	"github.com/ibiki/ibiki/internal/model"
)

// SendAfterReads is Send with between run after the reads made before its transaction and
// before the transaction: a test's way to land a write in between.
func (s *Service) SendAfterReads(ctx context.Context, c model.Client, req Request, between func()) (model.Message, error) {
	d, pick, err := s.prepare(ctx, c, req)
	if err != nil {
		return model.Message{}, err
	}
	between()
	return s.commitSend(ctx, d, pick, nil)
}
