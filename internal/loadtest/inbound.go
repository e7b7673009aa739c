// Package loadtest drives a running Ibiki with provider webhooks and measures what comes out at
// a client webhook it hosts itself: accepted/s, ingest latency, ingest→delivery latency and
// losses. `ibiki bench inbound` is its command line.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options describes one run.
type Options struct {
	URL          string        // Ibiki's base URL
	AdminToken   string        // to create the bench client
	Connections  int           // concurrent HTTP connections
	Rate         int           // requests per second; 0 = as fast as possible
	Duration     time.Duration // how long to send
	Phones       int           // distinct sender phones
	Drain        time.Duration // how long to wait for deliveries after sending
	ReceiverAddr string        // where the fake client webhook listens
	Client       string        // client id to create
	Log          io.Writer     // progress lines
}

// Report is the outcome of a run.
type Report struct {
	Sent, Accepted, Duplicates, Failed int64
	FailedByStatus                     map[string]int64
	SendSeconds                        float64
	AcceptedPerSec                     float64
	IngestP50, IngestP99, IngestMax    time.Duration
	Delivered, Redelivered, Lost       int64
	DeliverSeconds                     float64
	DeliveredPerSec                    float64
	E2EP50, E2EP99, E2EMax             time.Duration
}

// run is the state of one bench.
type run struct {
	opt      Options
	prefix   string
	client   *http.Client
	mu       sync.Mutex
	sentAt   map[string]time.Time // message id → when its request was due
	ingest   []time.Duration
	accepted map[string]bool
	arrived  map[string]time.Time
	redeliv  atomic.Int64
	failed   map[string]int64
	lastSeen atomic.Int64 // unix nanos of the last delivery
}

// Inbound runs the inbound benchmark.
func Inbound(ctx context.Context, opt Options) (Report, error) {
	r := newRun(opt)
	hookURL, stop, err := r.receive()
	if err != nil {
		return Report{}, err
	}
	defer stop()
	if err := r.createClient(ctx, hookURL); err != nil {
		return Report{}, err
	}
	fmt.Fprintf(opt.Log, "bench: client %s, webhook %s, %d connections, rate %s, %s\n",
		opt.Client, hookURL, opt.Connections, rateText(opt.Rate), opt.Duration)
	start := time.Now()
	sent := r.send(ctx)
	sendDur := time.Since(start)
	fmt.Fprintf(opt.Log, "bench: sent %d in %.1fs; waiting up to %s for deliveries\n", sent, sendDur.Seconds(), opt.Drain)
	r.drain(ctx)
	return r.report(sent, start, sendDur), nil
}

func rateText(rate int) string {
	if rate == 0 {
		return "flat out"
	}
	return strconv.Itoa(rate) + "/s"
}

// receive starts the fake client webhook.
func (r *run) receive() (string, func(), error) {
	return r.serve(http.HandlerFunc(r.hook))
}

// serve hosts a fake client webhook on ReceiverAddr.
func (r *run) serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", r.opt.ReceiverAddr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/hook", func() { srv.Close() }, nil
}

func (r *run) hook(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	var ev struct {
		Data struct {
			ProviderMessageID string `json:"provider_message_id"`
		} `json:"data"`
	}
	body, _ := io.ReadAll(req.Body)
	if err := json.Unmarshal(body, &ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if _, dup := r.arrived[ev.Data.ProviderMessageID]; dup {
		r.redeliv.Add(1)
	} else {
		r.arrived[ev.Data.ProviderMessageID] = now
	}
	r.mu.Unlock()
	r.lastSeen.Store(now.UnixNano())
	w.WriteHeader(http.StatusOK)
}

func (r *run) createClient(ctx context.Context, hookURL string) error {
	body, _ := json.Marshal(map[string]string{"id": r.opt.Client, "name": "bench " + r.opt.Client, "webhook_url": hookURL})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.opt.URL+"/admin/v1/clients", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+r.opt.AdminToken)
	res, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("create bench client: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("create bench client: %d %s (is the admin token right, and IBIKI_ALLOW_PRIVATE_WEBHOOKS=true on the server?)", res.StatusCode, b)
	}
	return nil
}

// send posts webhooks until the duration is over (see pace).
func (r *run) send(ctx context.Context) int64 { return r.pace(ctx, r.post) }

func (r *run) post(n int64, due time.Time) {
	id := r.prefix + "-" + strconv.FormatInt(n, 10)
	phone := 15550000000 + n%int64(r.opt.Phones)
	body := fmt.Appendf(nil, `{"from":"+%d","firstname":"Load","lastname":"Test","business":%q,"message":"bench message %d","status":"received","matchedBlockWord":null,"receiver":"+15557654321","usedmodem":"M1","port":"1","timestamp":%q,"messageId":%q}`,
		phone, r.opt.Client, n, time.Now().UTC().Format(time.RFC3339Nano), id)
	start := time.Now()
	if due.IsZero() {
		due = start
	}
	r.mu.Lock()
	r.sentAt[id] = due
	r.mu.Unlock()
	req, _ := http.NewRequest(http.MethodPost, r.opt.URL+"/webhooks/extremesms", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := r.client.Do(req)
	lat := time.Since(due)
	status := "error"
	var out struct {
		Duplicate bool `json:"duplicate"`
	}
	if err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		status = strconv.Itoa(res.StatusCode)
		_ = json.Unmarshal(b, &out)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if status != "200" {
		r.failed[status]++
		return
	}
	r.ingest = append(r.ingest, lat)
	r.accepted[id] = !out.Duplicate
}

// drain waits until every accepted message arrived, nothing arrived for a while, or Drain.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.opt.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		r.mu.Lock()
		missing := 0
		for id := range r.accepted {
			if _, ok := r.arrived[id]; !ok {
				missing++
			}
		}
		r.mu.Unlock()
		if missing == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *run) report(sent int64, start time.Time, sendDur time.Duration) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{Sent: sent, FailedByStatus: r.failed, SendSeconds: sendDur.Seconds(), Redelivered: r.redeliv.Load()}
	for _, n := range r.failed {
		rep.Failed += n
	}
	var e2e []time.Duration
	for id, fresh := range r.accepted {
		rep.Accepted++
		if !fresh {
			rep.Duplicates++
		}
		at, ok := r.arrived[id]
		if !ok {
			rep.Lost++
			continue
		}
		rep.Delivered++
		e2e = append(e2e, at.Sub(r.sentAt[id]))
	}
	rep.AcceptedPerSec = float64(rep.Accepted) / sendDur.Seconds()
	rep.IngestP50, rep.IngestP99, rep.IngestMax = percentiles(r.ingest)
	rep.E2EP50, rep.E2EP99, rep.E2EMax = percentiles(e2e)
	if last := r.lastSeen.Load(); last > 0 {
		rep.DeliverSeconds = time.Unix(0, last).Sub(start).Seconds()
		rep.DeliveredPerSec = float64(rep.Delivered) / rep.DeliverSeconds
	}
	return rep
}

func percentiles(ds []time.Duration) (p50, p99, max time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return at(0.50), at(0.99), ds[len(ds)-1]
}

// Write prints the report as aligned text.
func (rep Report) Write(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "sent            %d in %.1fs\n", rep.Sent, rep.SendSeconds)
	fmt.Fprintf(&b, "accepted        %d (%.0f/s), duplicates %d, failed %d %v\n", rep.Accepted, rep.AcceptedPerSec, rep.Duplicates, rep.Failed, rep.FailedByStatus)
	fmt.Fprintf(&b, "ingest latency  p50 %s  p99 %s  max %s\n", ms(rep.IngestP50), ms(rep.IngestP99), ms(rep.IngestMax))
	fmt.Fprintf(&b, "delivered       %d (%.0f/s over %.1fs from the first send), redelivered %d\n", rep.Delivered, rep.DeliveredPerSec, rep.DeliverSeconds, rep.Redelivered)
	fmt.Fprintf(&b, "ingest→delivery p50 %s  p99 %s  max %s\n", ms(rep.E2EP50), ms(rep.E2EP99), ms(rep.E2EMax))
	fmt.Fprintf(&b, "lost            %d\n", rep.Lost)
	io.WriteString(w, b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
