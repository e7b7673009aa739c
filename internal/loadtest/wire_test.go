package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The wire client against net/http's server: keep-alive, lengths, chunked answers, status codes
// and Connection: close.
func TestWireClientAgainstNetHTTP(t *testing.T) {
	var (
		mu    sync.Mutex
		conns int
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/in" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request line or header", http.StatusTeapot)
			return
		}
		switch string(body) {
		case "chunked":
			w.Write([]byte("part one, "))
			w.(http.Flusher).Flush() // a flushed answer of unknown length goes out chunked
			w.Write([]byte("part two"))
		case "close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "empty":
			w.WriteHeader(http.StatusNoContent)
		case "refuse":
			http.Error(w, "no", http.StatusServiceUnavailable)
		default:
			w.Write(body)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newWireClient(strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
	t.Cleanup(c.close)

	tests := []struct {
		body   string
		status int
		answer string
		conns  int // connections opened so far
	}{
		{"hello", 200, "hello", 1},
		{strings.Repeat("x", 100_000), 200, strings.Repeat("x", 100_000), 1},
		{"chunked", 200, "part one, part two", 1},
		{"empty", 204, "", 1},
		{"refuse", 503, "no\n", 1},
		{"close", 200, "bye", 1},
		{"after close", 200, "after close", 2}, // redialled
	}
	for _, tt := range tests {
		status, answer, err := c.post("/in", "application/json", []byte(tt.body))
		if err != nil {
			t.Fatalf("post %.20q: %v", tt.body, err)
		}
		mu.Lock()
		n := conns
		mu.Unlock()
		if status != tt.status || string(answer) != tt.answer || n != tt.conns {
			t.Errorf("post %.20q: %d %.30q on %d connections, want %d %.30q on %d", tt.body, status, answer, n,
				tt.status, tt.answer, tt.conns)
		}
	}
}

// A dead server is an error, and the next call dials again.
func TestWireClientRedialsAfterAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conn.Close() // the first connection dies before answering
		conn, err = ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		if _, err := br.ReadSlice('\n'); err != nil { // request line
			return
		}
		if _, err := readWireHeader(br); err != nil {
			return
		}
		io.CopyN(io.Discard, br, 2)
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}()
	t.Cleanup(func() { ln.Close() })
	c := newWireClient(ln.Addr().String(), 5*time.Second)
	t.Cleanup(c.close)
	if _, _, err := c.post("/", "text/plain", []byte("hi")); err == nil {
		t.Fatal("post to a connection closed without an answer: no error")
	}
	status, answer, err := c.post("/", "text/plain", []byte("hi"))
	if err != nil || status != 200 || string(answer) != "ok" {
		t.Fatalf("second post: %d %q %v, want 200 ok", status, answer, err)
	}
}

// The wire server against net/http's client: lengths, chunked bodies, 100-continue, keep-alive.
func TestWireServerAgainstNetHTTP(t *testing.T) {
	var (
		mu  sync.Mutex
		got []string
	)
	s, err := serveWire("127.0.0.1:0", func(body []byte) int {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(body))
		if string(body) == "bad" {
			return http.StatusBadRequest
		}
		return http.StatusOK
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	url := "http://" + s.addr() + "/hook"
	post := func(body io.Reader, header map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, body)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := post(strings.NewReader("one"), nil); res.StatusCode != 200 {
		t.Errorf("status %d, want 200", res.StatusCode)
	}
	// A body of unknown length goes chunked.
	if res := post(io.MultiReader(strings.NewReader("two, "), strings.NewReader("chunked")), nil); res.StatusCode != 200 {
		t.Errorf("chunked: status %d, want 200", res.StatusCode)
	}
	if res := post(strings.NewReader("three"), map[string]string{"Expect": "100-continue"}); res.StatusCode != 200 {
		t.Errorf("100-continue: status %d, want 200", res.StatusCode)
	}
	if res := post(strings.NewReader("bad"), nil); res.StatusCode != 400 {
		t.Errorf("status %d, want 400", res.StatusCode)
	}
	want := []string{"one", "two, chunked", "three", "bad"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bodies %q, want %q", got, want)
	}
}

// providerMessageID finds the id as Ibiki writes it, and decodes what it cannot find.
func TestProviderMessageID(t *testing.T) {
	for _, tt := range []struct {
		body string
		id   string
		ok   bool
	}{
		{`{"type":"message.received","data":{"id":"msg_1","provider_message_id":"abc-12"}}`, "abc-12", true},
		{`{"data": {"provider_message_id": "spaced-3"}}`, "spaced-3", true},
		{`{"data":{"provider_message_id":"esc\"aped"}}`, `esc"aped`, true},
		{`{"data":{}}`, "", false},
		{`not json`, "", false},
	} {
		id, ok := providerMessageID([]byte(tt.body))
		if id != tt.id || ok != tt.ok {
			t.Errorf("providerMessageID(%s) = %q, %v; want %q, %v", tt.body, id, ok, tt.id, tt.ok)
		}
	}
}

// The whole inbound bench against a fake Ibiki that loses one message, delivers one twice,
// answers one as a duplicate and refuses one: the report counts each.
func TestInboundCountsWhatHappened(t *testing.T) {
	var (
		mu      sync.Mutex
		hookURL string
		n       int
	)
	deliver := func(id string) {
		body, _ := json.Marshal(map[string]any{"type": "message.received", "data": map[string]string{"provider_message_id": id}})
		res, err := http.Post(hookURL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		res.Body.Close()
	}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/v1/clients":
			var in struct {
				WebhookURL string `json:"webhook_url"`
			}
			json.NewDecoder(r.Body).Decode(&in)
			mu.Lock()
			hookURL = in.WebhookURL
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
		case "/webhooks/extremesms":
			var in struct {
				MessageID string `json:"messageId"`
			}
			json.NewDecoder(r.Body).Decode(&in)
			mu.Lock()
			n++
			k := n
			mu.Unlock()
			switch k {
			case 1: // lost: accepted, never delivered
				io.WriteString(w, `{"id":"m"}`)
			case 2: // delivered twice
				io.WriteString(w, `{"id":"m"}`)
				deliver(in.MessageID)
				deliver(in.MessageID)
			case 3: // a duplicate of an earlier webhook
				io.WriteString(w, `{"id":"m","duplicate":true}`)
				deliver(in.MessageID)
			case 4: // refused
				http.Error(w, "{}", http.StatusServiceUnavailable)
			default:
				io.WriteString(w, `{"id":"m"}`)
				deliver(in.MessageID)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fake.Close)
	rep, err := Inbound(context.Background(), Options{URL: fake.URL, AdminToken: "t", Connections: 1, Rate: 50,
		Duration: 200 * time.Millisecond, Phones: 10, Drain: 300 * time.Millisecond, ReceiverAddr: "127.0.0.1:0",
		Client: "bench-test", Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent < 6 {
		t.Fatalf("sent %d, want at least 6 at 50/s for 200 ms", rep.Sent)
	}
	type counts struct{ Sent, Accepted, Duplicates, Failed, Delivered, Redelivered, Lost int64 }
	want := counts{Sent: rep.Sent, Accepted: rep.Sent - 1, Duplicates: 1, Failed: 1, Delivered: rep.Sent - 2,
		Redelivered: 1, Lost: 1}
	got := counts{rep.Sent, rep.Accepted, rep.Duplicates, rep.Failed, rep.Delivered, rep.Redelivered, rep.Lost}
	if got != want || rep.FailedByStatus["503"] != 1 {
		t.Errorf("report %+v (failed %v), want %+v and one 503", got, rep.FailedByStatus, want)
	}
}

// A kept-alive connection the server closed while idle is no failure: the request goes again
// on a new connection. A bare host means port 80.
func TestWireClientRetriesAConnectionClosedWhileIdle(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	srv.Config.IdleTimeout = 50 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	c := newWireClient(strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
	t.Cleanup(c.close)
	for i, body := range []string{"first", "after the server closed the idle connection"} {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		status, answer, err := c.post("/", "text/plain", []byte(body))
		if err != nil || status != 200 || string(answer) != body {
			t.Fatalf("post %d: %d %q %v", i, status, answer, err)
		}
	}
	if got := newWireClient("example.test", time.Second).addr; got != "example.test:80" {
		t.Errorf("bare host dials %q, want example.test:80", got)
	}
	if got := newWireClient("[::1]", time.Second).addr; got != "[::1]:80" {
		t.Errorf("bare IPv6 host dials %q, want [::1]:80", got)
	}
}
