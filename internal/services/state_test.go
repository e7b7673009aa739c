package services_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/services"
)

// On Redis a session is written before its exchange commits: a run of the same message again
// reads the session it started from, the next message the one it left; an end is a marker.
func TestRedisSessionsAreReadAsTheMessageFoundThem(t *testing.T) {
	opt, err := redis.ParseURL(ibikitest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	st := &services.State{Redis: rdb}
	ctx, now := context.Background(), time.Now()
	svc, phone := model.NewIDAt(model.PrefixService, now), "+15550001234"
	step := func(s string) *model.ServiceSession {
		return &model.ServiceSession{ServiceID: svc, Phone: phone, Flow: "f", Step: s, ExpiresAt: now.Add(time.Hour)}
	}
	if s, err := st.Load(ctx, svc, phone, "m1", now); err != nil || s != nil {
		t.Fatalf("no session yet: %+v %v", s, err)
	}
	if err := st.SaveFirst(ctx, svc, phone, "m1", nil, step("a"), now); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.Load(ctx, svc, phone, "m1", now); s != nil {
		t.Fatalf("m1 again starts from no session, got %+v", s)
	}
	s, _ := st.Load(ctx, svc, phone, "m2", now)
	if s == nil || s.Step != "a" || s.By != "" || s.Prev != nil {
		t.Fatalf("m2 reads m1's session: %+v", s)
	}
	if err := st.SaveFirst(ctx, svc, phone, "m2", s, nil, now); err != nil { // m2 ends it
		t.Fatal(err)
	}
	if s, _ := st.Load(ctx, svc, phone, "m2", now); s == nil || s.Step != "a" {
		t.Fatalf("m2 again reads the session it ended: %+v", s)
	}
	if s, _ := st.Load(ctx, svc, phone, "m3", now); s != nil {
		t.Fatalf("m3 finds it ended: %+v", s)
	}
	if s, _ := st.Load(ctx, svc, phone, "m2", now.Add(2*time.Hour)); s != nil {
		t.Fatalf("an expired session is none: %+v", s)
	}
	if n, err := st.Active(ctx, now); err != nil || n < 0 {
		t.Fatalf("active %d %v", n, err)
	}
}
