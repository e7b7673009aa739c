package loadtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SendReport is the outcome of a `bench send` run: POST /api/v1/messages (or the Twilio-shaped
// POST …/Messages.json) flat out or at a rate.
type SendReport struct {
	API                    string // the path posted to
	Sent, Accepted, Failed int64
	FailedByStatus         map[string]int64
	SendSeconds            float64
	AcceptedPerSec         float64
	P50, P99, Max          time.Duration
}

// admin calls the admin API and decodes the answer into out (when not nil).
func (r *run) admin(ctx context.Context, method, path string, in, out any, want int) error {
	return r.call(ctx, method, path, "Bearer "+r.opt.AdminToken, in, out, want)
}

func (r *run) call(ctx context.Context, method, path, auth string, in, out any, want int) error {
	body, _ := json.Marshal(in)
	req, _ := http.NewRequestWithContext(ctx, method, r.opt.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	res, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %.300s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// sendingClient creates the bench client with a large balance and returns its API key.
func (r *run) sendingClient(ctx context.Context, hookURL string) (string, error) {
	var c struct {
		APIKey string `json:"api_key"`
	}
	if err := r.admin(ctx, "POST", "/admin/v1/clients", map[string]string{"id": r.opt.Client, "name": "bench " + r.opt.Client,
		"webhook_url": hookURL}, &c, http.StatusCreated); err != nil {
		return "", fmt.Errorf("create bench client (admin token right? IBIKI_ALLOW_PRIVATE_WEBHOOKS=true?): %w", err)
	}
	return c.APIKey, r.admin(ctx, "POST", "/admin/v1/clients/"+r.opt.Client+"/credits",
		map[string]any{"amount_cents": 100_000_000, "reference": "bench"}, nil, http.StatusOK)
}

func newRun(opt Options) *run {
	r := &run{opt: opt, prefix: strconv.FormatInt(time.Now().UnixNano(), 36)}
	r.client = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		MaxIdleConns: opt.Connections, MaxIdleConnsPerHost: opt.Connections, MaxConnsPerHost: opt.Connections,
		IdleConnTimeout: time.Minute}}
	return r
}

// Send runs the send benchmark: POST /api/v1/messages from Connections workers, flat out or at
// Rate, for Duration. The messages go to the server's default provider (the simulator).
func Send(ctx context.Context, opt Options) (SendReport, error) {
	r := newRun(opt)
	key, err := r.sendingClient(ctx, "")
	if err != nil {
		return SendReport{}, err
	}
	// The request each worker makes: Ibiki's own send, or Twilio's (form, basic auth, 201).
	path, auth, contentType, accepted := "/api/v1/messages", "Bearer "+key, "application/json", "202"
	encode := func(to, body string) []byte {
		return fmt.Appendf(nil, `{"to":"%s","body":"%s"}`, to, body)
	}
	if opt.TwilioAPI {
		var creds struct {
			AccountSID string `json:"account_sid"`
			AuthToken  string `json:"auth_token"`
		}
		if err := r.admin(ctx, "POST", "/admin/v1/clients/"+opt.Client+"/twilio-credentials", nil, &creds, http.StatusCreated); err != nil {
			return SendReport{}, err
		}
		path, contentType, accepted = "/2010-04-01/Accounts/"+creds.AccountSID+"/Messages.json", "application/x-www-form-urlencoded", "201"
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(creds.AccountSID+":"+creds.AuthToken))
		encode = func(to, body string) []byte {
			return []byte(url.Values{"To": {to}, "Body": {body}}.Encode())
		}
	}
	rep0 := SendReport{FailedByStatus: map[string]int64{}, API: path}
	fmt.Fprintf(opt.Log, "bench: client %s, %d connections, rate %s, %s, POST %s\n", opt.Client, opt.Connections, rateText(opt.Rate), opt.Duration, path)
	var (
		mu   sync.Mutex
		lats []time.Duration
		rep  = rep0
	)
	post := func(n int64, due time.Time) {
		body := encode(fmt.Sprintf("+1555%07d", n%int64(opt.Phones)), fmt.Sprintf("bench message %d: your order is ready", n))
		start := time.Now()
		if due.IsZero() {
			due = start
		}
		req, _ := http.NewRequest(http.MethodPost, opt.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", contentType)
		res, err := r.client.Do(req)
		lat := time.Since(due)
		status := "error"
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			status = strconv.Itoa(res.StatusCode)
		}
		mu.Lock()
		defer mu.Unlock()
		if status != accepted {
			rep.FailedByStatus[status]++
			rep.Failed++
			return
		}
		rep.Accepted++
		lats = append(lats, lat)
	}
	start := time.Now()
	rep.Sent = r.pace(ctx, post)
	rep.SendSeconds = time.Since(start).Seconds()
	rep.AcceptedPerSec = float64(rep.Accepted) / rep.SendSeconds
	rep.P50, rep.P99, rep.Max = percentiles(lats)
	return rep, nil
}

// Write prints the report.
func (rep SendReport) Write(w io.Writer) {
	fmt.Fprintf(w, "sent            %d in %.1fs\n", rep.Sent, rep.SendSeconds)
	fmt.Fprintf(w, "api             POST %s\n", rep.API)
	fmt.Fprintf(w, "accepted        %d (%.0f/s), failed %d %v\n", rep.Accepted, rep.AcceptedPerSec, rep.Failed, rep.FailedByStatus)
	fmt.Fprintf(w, "latency         p50 %s  p99 %s  max %s\n", ms(rep.P50), ms(rep.P99), ms(rep.Max))
}

// pace calls post from Connections workers until Duration is over, flat out or at Rate; at a
// rate, each call gets the time it was due.
func (r *run) pace(ctx context.Context, post func(n int64, due time.Time)) int64 {
	ctx, cancel := context.WithTimeout(ctx, r.opt.Duration)
	defer cancel()
	var seq atomic.Int64
	due := make(chan time.Time, r.opt.Connections)
	go func() {
		defer close(due)
		if r.opt.Rate == 0 {
			for ctx.Err() == nil {
				select {
				case due <- time.Time{}:
				case <-ctx.Done():
				}
			}
			return
		}
		interval := time.Second / time.Duration(r.opt.Rate)
		next := time.Now()
		for ctx.Err() == nil {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			select {
			case due <- next:
			case <-ctx.Done():
			}
			next = next.Add(interval)
		}
	}()
	var wg sync.WaitGroup
	for range r.opt.Connections {
		wg.Go(func() {
			for at := range due {
				post(seq.Add(1), at)
			}
		})
	}
	wg.Wait()
	return seq.Load()
}

// BulkReport is the outcome of `bench bulk`.
type BulkReport struct {
	Recipients int
	Accepted   int
	Seconds    float64
	Dispatch   DispatchReport
}

// DispatchReport measures how fast the server handed messages to its provider, from the
// status_at of the "sent" events its webhook received.
type DispatchReport struct {
	Sent          int
	Window        time.Duration
	InWindow      int
	RatePerSec    float64
	First, Last   time.Time
	Delivered     int
	WaitedSeconds float64
}

// Bulk sends one bulk request of Recipients messages and times it; with Watch > 0 it then
// hosts the client webhook and measures the dispatch rate over Watch from the first "sent".
func Bulk(ctx context.Context, opt Options, recipients int, watch time.Duration) (BulkReport, error) {
	r := newRun(opt)
	sentAt := make(chan time.Time, 1<<20)
	var delivered atomic.Int64
	hookURL := ""
	if watch > 0 {
		ln, stop, err := r.statusReceiver(sentAt, &delivered)
		if err != nil {
			return BulkReport{}, err
		}
		defer stop()
		hookURL = ln
	}
	key, err := r.sendingClient(ctx, hookURL)
	if err != nil {
		return BulkReport{}, err
	}
	var b strings.Builder
	b.WriteString(`{"messages":[`)
	for i := range recipients {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"to":"+1555%07d","body":"bulk message %d: 20%% off this week"}`, i%10_000_000, i)
	}
	b.WriteString(`]}`)
	fmt.Fprintf(opt.Log, "bench: client %s, one bulk send of %d messages (%d bytes)\n", opt.Client, recipients, b.Len())
	var out struct {
		Accepted int `json:"accepted"`
	}
	start := time.Now()
	if err := r.call(ctx, "POST", "/api/v1/messages/bulk", "Bearer "+key, json.RawMessage(b.String()), &out, http.StatusAccepted); err != nil {
		return BulkReport{}, err
	}
	rep := BulkReport{Recipients: recipients, Accepted: out.Accepted, Seconds: time.Since(start).Seconds()}
	if watch > 0 {
		rep.Dispatch = r.watch(ctx, sentAt, &delivered, watch, out.Accepted)
	}
	return rep, nil
}

// statusReceiver hosts a client webhook that reports the status_at of every "sent" event.
func (r *run) statusReceiver(sentAt chan<- time.Time, delivered *atomic.Int64) (string, func(), error) {
	r.opt.ReceiverAddr = "127.0.0.1:0"
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Status   string `json:"status"`
				StatusAt string `json:"status_at"`
			} `json:"data"`
		}
		body, _ := io.ReadAll(req.Body)
		if json.Unmarshal(body, &ev) == nil && ev.Type == "message.status" {
			switch ev.Data.Status {
			case "sent":
				if t, err := time.Parse(time.RFC3339Nano, ev.Data.StatusAt); err == nil {
					sentAt <- t
				}
			case "delivered":
				delivered.Add(1)
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	return r.serve(h)
}

// watch collects "sent" times until the window after the first one has passed (or every
// message was sent), and computes the rate inside the window.
func (r *run) watch(ctx context.Context, sentAt <-chan time.Time, delivered *atomic.Int64, window time.Duration, total int) DispatchReport {
	var times []time.Time
	start := time.Now()
	deadline := time.NewTimer(window + 2*time.Minute)
	defer deadline.Stop()
	var first time.Time
	for len(times) < total {
		select {
		case t := <-sentAt:
			times = append(times, t)
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.Sub(first) > window+5*time.Second {
				goto done
			}
		case <-deadline.C:
			goto done
		case <-ctx.Done():
			goto done
		}
	}
done:
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	rep := DispatchReport{Sent: len(times), Window: window, Delivered: int(delivered.Load()), WaitedSeconds: time.Since(start).Seconds()}
	if len(times) == 0 {
		return rep
	}
	rep.First, rep.Last = times[0], times[len(times)-1]
	// Skip the first second (the bucket starts full) and count a whole window after it.
	from := rep.First.Add(time.Second)
	to := from.Add(window)
	if rep.Last.Before(to) {
		to = rep.Last
	}
	for _, t := range times {
		if !t.Before(from) && t.Before(to) {
			rep.InWindow++
		}
	}
	if d := to.Sub(from).Seconds(); d > 0 {
		rep.RatePerSec = float64(rep.InWindow) / d
	}
	return rep
}

// Write prints the report.
func (rep BulkReport) Write(w io.Writer) {
	fmt.Fprintf(w, "bulk request    %d recipients, %d accepted, answered in %.2fs\n", rep.Recipients, rep.Accepted, rep.Seconds)
	if d := rep.Dispatch; d.Sent > 0 {
		fmt.Fprintf(w, "dispatch        %d sent; %d in the %s window after the first second: %.1f/s\n", d.Sent, d.InWindow,
			d.Window, d.RatePerSec)
		fmt.Fprintf(w, "                first sent %s, last %s, delivered reports %d\n", d.First.Format(time.RFC3339Nano),
			d.Last.Format(time.RFC3339Nano), d.Delivered)
	}
}
