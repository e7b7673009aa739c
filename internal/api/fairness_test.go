package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// A client's big bulk send neither holds up another client nor the same client's own
// one-off messages: they go out while the bulk is still queued.
func TestBulkTrafficStarvesNobody(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_SIMULATOR_RATE": "40", "IBIKI_SEND_CONCURRENCY": "4"})
	big, small := s.CreateClient("big", ""), s.CreateClient("small", "")
	topUp(t, s, "big", 1000)
	topUp(t, s, "small", 10)
	var msgs []map[string]string
	for i := range 400 { // ten seconds of the provider's time
		msgs = append(msgs, map[string]string{"to": fmt.Sprintf("+1555210%04d", i), "body": "sale"})
	}
	mustDo(t, s, "POST", "/api/v1/messages/bulk", big.APIKey, map[string]any{"messages": msgs}, http.StatusAccepted)
	stillQueued := func() bool {
		var pg struct {
			Data []sent `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/messages?status=queued&limit=1", big.APIKey, nil, http.StatusOK).JSON(t, &pg)
		return len(pg.Data) == 1
	}

	other := sendMessage(t, s, small.APIKey, map[string]string{"to": "+15552110001", "body": "hi"})
	own := sendMessage(t, s, big.APIKey, map[string]string{"to": "+15552110002", "body": "your code is 1234"})
	waitStatus(t, s, small.APIKey, other.ID, "delivered")
	if !stillQueued() {
		t.Errorf("another client's message waited for the whole bulk send")
	}
	waitStatus(t, s, big.APIKey, own.ID, "delivered")
	if !stillQueued() {
		t.Errorf("the client's own one-off message waited behind its bulk send")
	}
}
