package smsc

import (
	"context"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
)

// Submits that arrive together are accepted together: a few workers each take what is waiting
// (up to maxBatch) and hand each client's share to outbound.SendMany, one transaction for
// all, so that 40 submits in flight cost a handful of commits of the one writer rather than 40.
// Nothing waits for a batch to fill: a lone submit goes alone.
const (
	batchWorkers = 4
	maxBatch     = 64
)

// pending is a submit waiting for its batch.
type pending struct {
	client model.Client
	req    outbound.Request
	done   chan sent // buffered: the worker never waits for the handler
}

type sent struct {
	msg model.Message
	err error
}

// send accepts one message through a batch and returns once it is committed (or refused).
func (srv *Server) send(ctx context.Context, c model.Client, req outbound.Request) (model.Message, error) {
	p := &pending{client: c, req: req, done: make(chan sent, 1)}
	select {
	case srv.batch <- p:
	case <-ctx.Done():
		return model.Message{}, ctx.Err()
	}
	r := <-p.done // once queued it is answered, whatever ctx does: it may be committing
	return r.msg, r.err
}

// batcher takes waiting submits in batches until the channel is closed.
func (srv *Server) batcher(batch <-chan *pending) {
	defer srv.batchWG.Done()
	for first := range batch {
		items := []*pending{first}
	fill:
		for len(items) < maxBatch {
			select {
			case p, ok := <-batch:
				if !ok {
					break fill
				}
				items = append(items, p)
			default:
				break fill
			}
		}
		byClient := map[string][]*pending{}
		var order []string
		for _, p := range items {
			if byClient[p.client.ID] == nil {
				order = append(order, p.client.ID)
			}
			byClient[p.client.ID] = append(byClient[p.client.ID], p)
		}
		for _, id := range order {
			ps := byClient[id]
			reqs := make([]outbound.Request, len(ps))
			for i, p := range ps {
				reqs[i] = p.req
			}
			msgs, errs := srv.Outbound.SendMany(context.Background(), ps[0].client, reqs)
			for i, p := range ps {
				p.done <- sent{msgs[i], errs[i]}
			}
		}
	}
}
