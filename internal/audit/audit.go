// Package audit keeps the operator's audit log: who changed what, from the dashboard or through
// the admin API, newest first.
package audit

import (
	"context"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// APIActor names the admin API token as the actor of the changes made through it.
const APIActor = "admin API token"

// Record writes one entry in a transaction of its own. The action it records has committed
// already (actions run in the domain services' own transactions); a caller logs a failure here
// rather than undo the action.
func Record(ctx context.Context, st *store.Store, now time.Time, e model.AuditEntry) error {
	e.ID, e.CreatedAt = model.NewIDAt(model.PrefixAudit, now), now
	if len(e.Detail) > 1000 {
		e.Detail = e.Detail[:1000]
	}
	return st.InTx(ctx, func(tx *store.Tx) error { return tx.InsertAudit(ctx, e) })
}
