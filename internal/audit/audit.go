// Package audit keeps the operator's audit log: who changed what, from the dashboard or through
// the admin API, newest first.
package audit

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

// APIActor names the admin API token as the actor of the changes made through it.
const APIActor = "admin API token"

// Record writes one entry in a transaction of its own. The action it records has committed
// already (actions run in the domain services' own transactions); a caller logs a failure here
// rather than undo the action.
//
// The entry is written even when ctx is cancelled (the caller went away after its change
// committed): the change stands, so must its record.
func Record(ctx context.Context, st *store.Store, now time.Time, e model.AuditEntry) error {
	ctx = context.WithoutCancel(ctx)
	e.ID, e.CreatedAt = model.NewIDAt(model.PrefixAudit, now), now
	e.Detail = text.Cut(text.Clean(e.Detail), 1000) // a detail is metadata: kept as text, bounded
	return st.InTx(ctx, func(tx *store.Tx) error { return tx.InsertAudit(ctx, e) })
}
