// Package conversation holds what people do to a client's conversations besides sending in them
// (sending is outbound's): today, reading them. The dashboard calls it; an API that marks
// threads read would call the same.
package conversation

import (
	"context"

	"github.com/ibiki/ibiki/internal/store"
)

// MarkRead clears the unread count of one of the client's conversations: someone read it.
// Another client's conversation is left alone (nothing matches it).
func MarkRead(ctx context.Context, st *store.Store, clientID, id string) error {
	return st.InTx(ctx, func(tx *store.Tx) error { return tx.MarkConversationRead(ctx, clientID, id) })
}
