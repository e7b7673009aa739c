package queue

import (
	"context"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
)

// Room answers as Take would decide, without taking: no room before the runner starts, when
// the client's cap is reached (running and backlogged jobs count), or when no job may start
// (every slot taken, or a claim under way) and the backlog is full; room while a slot is free
// or the backlog has space.
func TestRoomIsTakesRule(t *testing.T) {
	k := &kindRunner{cfg: Kind{Concurrency: 2, PerClient: 2}, perClient: map[string]int{}}
	if k.Room("acme") {
		t.Fatal("room before the runner works")
	}
	k.work = context.Background()
	if !k.Room("acme") {
		t.Fatal("no room in an idle runner")
	}
	k.running, k.perClient["acme"] = 2, 2
	if k.Room("acme") {
		t.Fatal("room for a client at its cap")
	}
	if !k.Room("beta") {
		t.Fatal("no room for another client while the backlog has space")
	}
	k.backlog = make([]model.Job, 4*k.cfg.Concurrency)
	if k.Room("beta") {
		t.Fatal("room with every slot taken and the backlog full")
	}
	k.running, k.claiming = 0, true // a claim under way: adopted jobs wait in the backlog
	if k.Room("beta") {
		t.Fatal("room during a claim with the backlog full")
	}
	k.backlog = k.backlog[:1]
	if !k.Room("beta") {
		t.Fatal("no room during a claim with space in the backlog")
	}
	k.claiming = false
	k.running, k.perClient["acme"], k.backlog = 1, 1, nil
	k.perLogged = map[string]int{"acme": 1}
	if k.Room("acme") {
		t.Fatal("room for a client whose backlogged jobs reach its cap")
	}
}
