package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestIsPublic(t *testing.T) {
	tests := []struct {
		name string
		ip   string
		want bool
	}{
		{"a public IPv4 address is public", "8.8.8.8", true},
		{"a public IPv6 address is public", "2606:4700:4700::1111", true},
		{"IPv4 loopback is not public", "127.0.0.1", false},
		{"the far end of 127/8 is not public", "127.255.255.254", false},
		{"IPv6 loopback is not public", "::1", false},
		{"10/8 is not public", "10.0.0.1", false},
		{"172.16/12 is not public", "172.31.255.255", false},
		{"just outside 172.16/12 is public", "172.32.0.1", true},
		{"192.168/16 is not public", "192.168.1.1", false},
		{"the cloud metadata address is not public", "169.254.169.254", false},
		{"IPv6 link-local is not public", "fe80::1", false},
		{"zoned IPv6 link-local is not public", "fe80::1%eth0", false},
		{"IPv6 unique local is not public", "fd12:3456::1", false},
		{"IPv4 unspecified is not public", "0.0.0.0", false},
		{"anything in 0/8 is not public", "0.1.2.3", false},
		{"IPv6 unspecified is not public", "::", false},
		{"IPv4 multicast is not public", "224.0.0.1", false},
		{"IPv6 multicast is not public", "ff02::1", false},
		{"carrier-grade NAT is not public", "100.64.0.1", false},
		{"just outside carrier-grade NAT is public", "100.128.0.1", true},
		{"IETF protocol assignments are not public", "192.0.0.8", false},
		{"benchmarking addresses are not public", "198.19.255.1", false},
		{"reserved 240/4 is not public", "240.0.0.1", false},
		{"broadcast is not public", "255.255.255.255", false},
		{"IPv4 documentation ranges are not public", "203.0.113.7", false},
		{"IPv6 documentation range is not public", "2001:db8::1", false},
		{"IPv4-mapped loopback is judged as IPv4", "::ffff:127.0.0.1", false},
		{"IPv4-mapped public address is judged as IPv4", "::ffff:8.8.8.8", true},
		{"NAT64 of a private address is not public", "64:ff9b::10.0.0.1", false},
		{"NAT64 of a public address is public", "64:ff9b::8.8.8.8", true},
		{"local-use NAT64 is not public", "64:ff9b:1::a00:1", false},
		{"6to4 of a private address is not public", "2002:c0a8:0101::1", false},
		{"6to4 of a public address is public", "2002:0808:0808::1", true},
		{"Teredo is not public", "2001:0:4136:e378:8000:63bf:3fff:fdd2", false},
		{"IPv4-compatible IPv6 is not public", "::127.0.0.1", false},
		{"deprecated site-local IPv6 is not public", "fec0::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPublic(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("IsPublic(%s) = %v, want %v", tt.ip, got, tt.want)
			}
		})
	}
	t.Run("the zero address is not public", func(t *testing.T) {
		if IsPublic(netip.Addr{}) {
			t.Error("IsPublic(netip.Addr{}) = true")
		}
	})
}

// fakeResolver answers from a map and never touches the network.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	ips := make([]netip.Addr, len(ss))
	for i, s := range ss {
		ips[i] = netip.MustParseAddr(s)
	}
	return ips, nil
}

func TestValidateURL(t *testing.T) {
	dns := fakeResolver{
		"hooks.example.com":   {"8.8.8.8"},
		"v6.example.com":      {"2606:4700:4700::1111"},
		"internal.example":    {"127.0.0.1"},
		"mixed.example.com":   {"8.8.8.8", "10.1.2.3"},
		"mapped.example.com":  {"::ffff:169.254.169.254"},
		"nothing.example.com": {},
	}
	tests := []struct {
		name         string
		url          string
		allowPrivate bool
		want         error // nil, ErrBadURL or ErrPrivateAddress
		msg          string
	}{
		{"a public https host is accepted", "https://hooks.example.com/ibiki", false, nil, ""},
		{"a public http host with a port is accepted", "http://hooks.example.com:8080/x?y=1", false, nil, ""},
		{"a host resolving to public IPv6 is accepted", "https://v6.example.com/", false, nil, ""},
		{"a public IPv4 literal is accepted", "https://8.8.8.8/hook", false, nil, ""},
		{"a public IPv6 literal is accepted", "https://[2606:4700:4700::1111]:443/hook", false, nil, ""},
		{"a host resolving to loopback is refused", "https://internal.example/hook", false, ErrPrivateAddress, "resolves to 127.0.0.1"},
		{"a host with one private address among public ones is refused", "https://mixed.example.com/", false, ErrPrivateAddress, "10.1.2.3"},
		{"a host resolving to a mapped metadata address is refused", "https://mapped.example.com/", false, ErrPrivateAddress, "169.254.169.254"},
		{"a private IPv4 literal is refused", "http://10.0.0.1/hook", false, ErrPrivateAddress, "10.0.0.1"},
		{"the metadata address literal is refused", "http://169.254.169.254/latest/meta-data", false, ErrPrivateAddress, ""},
		{"an IPv6 loopback literal is refused", "http://[::1]:8080/", false, ErrPrivateAddress, ""},
		{"a mapped loopback literal is refused", "http://[::ffff:127.0.0.1]/", false, ErrPrivateAddress, ""},
		{"a private literal is accepted when private addresses are allowed", "http://10.0.0.1/hook", true, nil, ""},
		{"a host resolving to loopback is accepted when private addresses are allowed", "http://internal.example/", true, nil, ""},
		{"an unresolvable host is refused", "https://nx.example.com/", false, ErrBadURL, `could not resolve host "nx.example.com"`},
		{"a host with no addresses is refused", "https://nothing.example.com/", false, ErrBadURL, "could not resolve"},
		{"an ftp URL is refused", "ftp://hooks.example.com/", false, ErrBadURL, "scheme must be http or https"},
		{"a URL without a scheme is refused", "hooks.example.com/x", false, ErrBadURL, "scheme"},
		{"a URL without a host is refused", "https:///path", false, ErrBadURL, "host is required"},
		{"an opaque URL is refused", "https:hooks.example.com", false, ErrBadURL, "host is required"},
		{"credentials in the URL are refused", "https://user:pass@hooks.example.com/", false, ErrBadURL, "password"},
		{"credentials are refused even when private addresses are allowed", "http://user@10.0.0.1/", true, ErrBadURL, "password"},
		{"a URL over 2048 characters is refused", "https://hooks.example.com/" + strings.Repeat("a", 2048), false, ErrBadURL, "longer than 2048"},
		{"an unparsable URL is refused", "https://hooks.example.com/%zz", false, ErrBadURL, ""},
		{"port zero is refused", "https://hooks.example.com:0/", false, ErrBadURL, "port 0"},
		{"a port above 65535 is refused", "https://hooks.example.com:65536/", false, ErrBadURL, "port 65536"},
		{"a decimal IPv4 host is refused", "http://2130706433/", false, ErrBadURL, "not a valid IP address"},
		{"a short-form IPv4 host is refused", "http://127.1/", true, ErrBadURL, "not a valid IP address"},
		{"a hex IPv4 host is refused", "http://0x7f.0.0.1/", false, ErrBadURL, "not a valid IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateURL(t.Context(), tt.url, tt.allowPrivate, dns)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidateURL(%q) = %v, want nil", tt.url, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ValidateURL(%q) = %v, want %v", tt.url, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ValidateURL(%q) = %q, want it to mention %q", tt.url, err, tt.msg)
			}
		})
	}
}

func TestRefusePrivateChecksTheDialledAddress(t *testing.T) {
	tests := []struct {
		name    string
		address string
		refused bool
	}{
		{"a public address is dialled", "8.8.8.8:443", false},
		{"a public IPv6 address is dialled", "[2606:4700:4700::1111]:443", false},
		{"a private address is refused", "10.0.0.1:80", true},
		{"a mapped loopback address is refused", "[::ffff:127.0.0.1]:80", true},
		{"an address that does not parse is refused", "hooks.example.com:443", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Calls the hook directly: nothing is dialled.
			err := refusePrivate(t.Context(), "tcp4", tt.address, nil)
			if refused := errors.Is(err, ErrPrivateAddress); refused != tt.refused || (!refused && err != nil) {
				t.Errorf("refusePrivate(%q) = %v, want refused=%v", tt.address, err, tt.refused)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/target", http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)

	t.Run("the guarded client refuses to connect to a loopback server", func(t *testing.T) {
		resp, err := NewClient(5*time.Second, false, 4).Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrPrivateAddress) {
			t.Fatalf("Get(%s) error = %v, want ErrPrivateAddress", srv.URL, err)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("server saw %d requests, want 0", n)
		}
	})

	t.Run("the client allowing private addresses reaches the loopback server", func(t *testing.T) {
		resp, err := NewClient(5*time.Second, true, 4).Get(srv.URL)
		if err != nil {
			t.Fatalf("Get(%s): %v", srv.URL, err)
		}
		defer resp.Body.Close()
		if body, _ := io.ReadAll(resp.Body); string(body) != "ok" {
			t.Errorf("body = %q, want ok", body)
		}
	})

	t.Run("redirects are returned, not followed", func(t *testing.T) {
		hits.Store(0)
		resp, err := NewClient(5*time.Second, true, 4).Get(srv.URL + "/moved")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		resp.Body.Close()
		if n := hits.Load(); resp.StatusCode != http.StatusFound || n != 1 {
			t.Errorf("status %d after %d requests, want 302 after 1", resp.StatusCode, n)
		}
	})

	t.Run("the client sets the attempt timeout and ignores proxy settings", func(t *testing.T) {
		c := NewClient(7*time.Second, false, 4)
		tr, ok := c.Transport.(*http.Transport)
		if c.Timeout != 7*time.Second || !ok || tr.Proxy != nil {
			t.Errorf("client timeout %v, transport %T (proxy set: %v)", c.Timeout, c.Transport, ok && tr.Proxy != nil)
		}
	})

	t.Run("as many connections to one host as attempts in flight stay open", func(t *testing.T) {
		const perHost = 100
		var (
			conns   atomic.Int32
			inside  sync.WaitGroup
			release = make(chan struct{})
		)
		busy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("hold") != "" {
				inside.Done()
				<-release
			}
		}))
		busy.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
		busy.Start()
		t.Cleanup(busy.Close)
		c := NewClient(5*time.Second, true, perHost)
		wave := func(query string) {
			var done sync.WaitGroup
			for range perHost {
				done.Go(func() {
					resp, err := c.Get(busy.URL + query)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				})
			}
			if query != "" {
				inside.Wait() // every request holds its own connection
				close(release)
			}
			done.Wait()
		}
		inside.Add(perHost)
		wave("?hold=1")
		if n := conns.Load(); n != perHost {
			t.Fatalf("first wave opened %d connections, want %d", n, perHost)
		}
		for range 3 {
			wave("")
		}
		if n := conns.Load(); n != perHost {
			t.Errorf("%d connections after four waves of %d requests, want the first wave's %d reused", n, perHost, perHost)
		}
	})
}

// failingResolver fails every lookup with its error, as the system resolver does.
type failingResolver struct{ err error }

func (f failingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, f.err
}

// A refused URL says what is wrong with it, never where we looked it up: the resolver's address
// is the operator's internal network, not the client's business.
func TestValidateURLNamesTheProblemNotTheResolver(t *testing.T) {
	const resolver = "10.0.0.53"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"an unknown host is reported as not found",
			&net.DNSError{Err: "no such host", Name: "nx.example.com", Server: resolver + ":53", IsNotFound: true},
			`could not resolve host "nx.example.com": no such host`},
		{"a lookup that timed out says so",
			&net.DNSError{Err: "i/o timeout", Name: "nx.example.com", Server: resolver + ":53", IsTimeout: true},
			`could not resolve host "nx.example.com": the lookup timed out`},
		{"a resolver that cannot be reached is a failed lookup, without its address",
			&net.DNSError{Err: "dial udp " + resolver + ":53: connect: connection refused", Name: "nx.example.com",
				Server: resolver + ":53", IsTemporary: true},
			`could not resolve host "nx.example.com": the lookup failed`},
		{"an error of another kind is a failed lookup, without its text",
			errors.New("lookup nx.example.com on " + resolver + ":53: server misbehaving"),
			`could not resolve host "nx.example.com": the lookup failed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateURL(t.Context(), "https://nx.example.com/hook", false, failingResolver{tt.err})
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("ValidateURL = %v, want ErrBadURL", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, resolver) {
				t.Errorf("ValidateURL = %q, want it to say %q and not name %s", msg, tt.want, resolver)
			}
		})
	}
}

// The delivery log, which the client reads, tells of a host that could not be resolved in the
// same words, without our resolver's address; other failures keep their own text.
func TestRequestErrorHidesTheResolver(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://nx.example.com/hook", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	tests := []struct {
		name, want string
		err        error
	}{
		{"an unknown host is named, not the server asked", `could not resolve host "nx.example.com": no such host`,
			dial(&net.DNSError{Err: "no such host", Name: "nx.example.com", Server: "10.0.0.53:53", IsNotFound: true})},
		{"an unreachable resolver is a failed lookup", `could not resolve host "nx.example.com": the lookup failed`,
			dial(&net.DNSError{Err: "dial udp 10.0.0.53:53: connect: connection refused", Name: "nx.example.com", Server: "10.0.0.53:53"})},
		{"a refused connection keeps its text", "connection refused", dial(errors.New("connection refused"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requestError(tt.err); !strings.Contains(got, tt.want) || strings.Contains(got, "10.0.0.53") {
				t.Errorf("requestError = %q, want it to say %q without the resolver", got, tt.want)
			}
		})
	}
}
