package loadtest_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/loadtest"
)

func TestServicesBenchOnTheDatabase(t *testing.T) { testServicesBench(t, nil) }

func TestServicesBenchOnRedis(t *testing.T) {
	testServicesBench(t, map[string]string{"IBIKI_REDIS_URL": ibikitest.RedisURL(t)})
}

// A tiny `bench services` against a whole Ibiki whose provider is the bench's sink: every
// message is accepted, answered once (the answer carries its token) and delivered to the
// client; no timing is asserted. The drain ends as soon as all is answered; it is long because
// CI runs this under -race beside other packages on two cores (one run there needed over 30 s).
func testServicesBench(t *testing.T, env map[string]string) {
	sink, err := loadtest.ListenServiceSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Close)
	file := filepath.Join(t.TempDir(), "providers.json")
	if err := os.WriteFile(file, loadtest.ServiceSinkProviders(sink.URL()), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"IBIKI_PROVIDERS_FILE": file}
	for k, v := range env {
		vars[k] = v
	}
	s := ibikitest.NewServer(t, vars)
	rep, err := loadtest.Services(context.Background(), loadtest.Options{URL: s.URL, AdminToken: ibikitest.AdminToken,
		Connections: 4, Rate: 100, Duration: 500 * time.Millisecond, Phones: 7, Drain: 3 * time.Minute,
		ReceiverAddr: "127.0.0.1:0", Client: "bench-services", Log: io.Discard},
		loadtest.ServicesOptions{ShortCode: "57675", Settle: 200 * time.Millisecond}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent < 20 || !rep.OK() || rep.Answered != rep.Sent || rep.Delivered != rep.Sent {
		var b strings.Builder
		rep.Write(&b)
		t.Fatalf("sent %d, answered %d, delivered %d; want at least 20, all answered once and delivered:\n%s",
			rep.Sent, rep.Answered, rep.Delivered, b.String())
	}
}
