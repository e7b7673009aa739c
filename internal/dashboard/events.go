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
	// The server's timeouts are for ordinary answers; a stream lives as long as the page. Each
	// write gets its own deadline instead, so a reader that stopped reading is dropped. (The read
	// deadline too: when it passes, the server cancels the request's context.)
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	write := func(format string, args ...any) error {
		if err := rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
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
	if write("retry: 2000\n: connected\n\n") != nil {
		return nil
	}
	ping := time.NewTicker(heartbeat)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return nil
		case a, ok := <-sub.C:
			if !ok {
				return nil // shutting down
			}
			data, _ := json.Marshal(map[string]string{"client_id": a.ClientID, "conversation_id": a.ConversationID,
				"message_id": a.MessageID})
			err = write("event: %s\ndata: %s\n\n", a.Kind, data)
		case <-ping.C:
			// A stream ends with its session: signed out (here or everywhere), blocked, or the
			// client deactivated.
			if !d.stillSignedIn(r) {
				return nil
			}
			err = write(": ping\n\n")
		}
		if err != nil {
			return nil
		}
	}
}

// streamWriteTimeout drops a page that stopped reading its event stream.
const streamWriteTimeout = 30 * time.Second

// stillSignedIn reports whether r's session still stands, for a client user with an active client.
func (d *Dashboard) stillSignedIn(r *http.Request) bool {
	_, u, err := d.Sessions.Load(r.Context(), r)
	if err != nil {
		return false
	}
	if u.Role == model.RoleClient {
		c, err := d.Store.Client(r.Context(), u.ClientID)
		return err == nil && c.Active
	}
	return true
}
