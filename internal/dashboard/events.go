package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// heartbeat keeps idle event streams (and the proxies in front of them) open.
const heartbeat = 20 * time.Second

// events is GET /events: a Server-Sent Events stream of what changes for the user's client
// (every client, for operators). Each event names what changed; the page fetches the new
// state through its ordinary, tenant-checked routes.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request, v *view) error {
	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary answers; a stream lives as long as the page.
	// (The read deadline too: when it passes, the server cancels the request's context.)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	clientID := v.Client.ID
	if v.User.Role == model.RoleOperator {
		clientID = ""
	}
	sub := d.Hub.Subscribe(clientID)
	defer sub.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	if err := rc.Flush(); err != nil {
		return nil
	}
	ping := time.NewTicker(heartbeat)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case a, ok := <-sub.C:
			if !ok {
				return nil // shutting down
			}
			data, _ := json.Marshal(map[string]string{"client_id": a.ClientID, "conversation_id": a.ConversationID,
				"message_id": a.MessageID})
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", a.Kind, data)
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
