package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ibiki/ibiki/internal/outcall"
)

// ErrPrivateAddress reports a webhook URL that is, or resolves to, an address that is not on the
// public internet. Clients choose webhook URLs, so without this check any client could make
// Ibiki call its own admin ports, the cloud metadata service or the office network.
var ErrPrivateAddress = errors.New("webhook URL points to a non-public address")

// ErrBadURL reports a webhook URL that is not an absolute http(s) URL we are willing to call.
var ErrBadURL = errors.New("invalid webhook URL")

// maxURLLength bounds webhook URLs: 2048 is what browsers and proxies reliably carry, and a URL
// longer than that is more likely an attempt to bloat our logs and tables than an endpoint.
const maxURLLength = 2048

// Resolver looks up the addresses of a host; *net.Resolver implements it, and tests pass a fake
// so they never touch DNS.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// nonPublicV4 lists the IPv4 ranges that are never a legitimate webhook endpoint, after the IANA
// special-purpose registry. Documentation ranges are included: they are never routed on the
// internet, and some networks reuse them internally, so refusing them costs nothing.
var nonPublicV4 = prefixes(
	"0.0.0.0/8",       // "this network"; 0.0.0.0 reaches the local host on Linux
	"10.0.0.0/8",      // RFC 1918
	"100.64.0.0/10",   // carrier-grade NAT, the provider's network
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, home of the cloud metadata service 169.254.169.254
	"172.16.0.0/12",   // RFC 1918
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1 documentation
	"192.168.0.0/16",  // RFC 1918
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2 documentation
	"203.0.113.0/24",  // TEST-NET-3 documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, including the broadcast 255.255.255.255
)

// IPv6 is checked against an allow-list instead: only 2000::/3 is allocated for global unicast,
// so everything outside it (loopback, ULA fc00::/7, link-local, site-local, multicast,
// IPv4-compatible ::/96, discard 100::/64…) is refused without listing it.
var (
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	nonPublicV6     = prefixes(
		"2001::/32",     // Teredo: tunnels to an obfuscated IPv4 address we cannot vet cheaply
		"2001:2::/48",   // benchmarking
		"2001:db8::/32", // documentation
		"3fff::/20",     // documentation (RFC 9637)
	)
	nat64   = netip.MustParsePrefix("64:ff9b::/96")   // well-known NAT64: IPv4 in the last 32 bits
	nat64L  = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64: translates to whatever the operator chose
	sixToV4 = netip.MustParsePrefix("2002::/16")      // 6to4: IPv4 in bits 16–47
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// IsPublic reports whether ip is an address on the public internet that a webhook may be sent
// to. Addresses that carry an IPv4 address inside IPv6 (IPv4-mapped, NAT64, 6to4) are judged by
// the IPv4 address, since that is where the packets end up.
func IsPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is4() {
		return !inAny(ip, nonPublicV4)
	}
	if !ip.Is6() {
		return false // the zero Addr
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return IsPublic(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToV4.Contains(ip):
		return IsPublic(netip.AddrFrom4([4]byte(b[2:6])))
	case nat64L.Contains(ip):
		return false
	}
	return globalUnicastV6.Contains(ip) && !inAny(ip, nonPublicV6)
}

func inAny(ip netip.Addr, ps []netip.Prefix) bool {
	ip = ip.WithZone("") // Prefix.Contains is false for any zoned address
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ValidateURL checks a webhook URL when a client saves it, so the mistake is reported to the
// person who made it rather than discovered in a failed delivery. Unless allowPrivate is set (for
// development and self-hosted setups), the host must be public: an IP literal directly, a name
// through resolver (nil means net.DefaultResolver). This check alone is not enough against DNS
// rebinding; NewClient repeats it on the address actually dialled.
func ValidateURL(ctx context.Context, raw string, allowPrivate bool, resolver Resolver) error {
	u, err := parseURL(raw)
	if err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !IsPublic(ip) {
			return fmt.Errorf("%w: %s is a private or reserved address", ErrPrivateAddress, host)
		}
		return nil
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	ips, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("%w: could not resolve host %q: %s", ErrBadURL, host, lookupProblem(err))
	}
	if len(ips) == 0 {
		return fmt.Errorf("%w: could not resolve host %q: no addresses", ErrBadURL, host)
	}
	// Every address must be public: the dialler may pick any of them.
	for _, ip := range ips {
		if !IsPublic(ip) {
			return fmt.Errorf("%w: %s resolves to %s, a private or reserved address", ErrPrivateAddress, host, ip.Unmap())
		}
	}
	return nil
}

// lookupProblem says why a host could not be resolved, in words that are about the host. The
// resolver's own error names the DNS server it asked (and, when that server is unreachable, the
// address it dialled): that is our internal network, so it is never passed on to the client.
func lookupProblem(err error) string {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "no such host"
	case errors.As(err, &dns) && dns.IsTimeout, errors.Is(err, context.DeadlineExceeded):
		return "the lookup timed out"
	default:
		return "the lookup failed"
	}
}

// requestError describes a failed delivery attempt for the delivery log, which the client
// reads: a host that could not be resolved is named, the resolver that was asked is not.
func requestError(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Sprintf("could not resolve host %q: %s", dns.Name, lookupProblem(err))
	}
	return err.Error()
}

// parseURL checks the shape of a webhook URL, independent of where it points.
func parseURL(raw string) (*url.URL, error) {
	if len(raw) > maxURLLength {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrBadURL, maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL; the operator already has it, so keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme must be http or https, not %q", ErrBadURL, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: user name or password in the URL is not allowed (it would be written to logs); authenticate with the signature instead", ErrBadURL)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%w: host is required", ErrBadURL)
	}
	if looksNumeric(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			// Forms like 2130706433, 0x7f.1 or 127.1 are IPv4 to some resolvers and not to others;
			// refusing them keeps our check and the dialler from disagreeing on what they mean.
			return nil, fmt.Errorf("%w: host %q is not a valid IP address", ErrBadURL, host)
		}
	}
	if p := u.Port(); p != "" {
		// url.Parse checks that the port is digits, not that it is a port.
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: port %s is out of range", ErrBadURL, p)
		}
	}
	return u, nil
}

// looksNumeric reports whether the last label of host is digits or hex with a 0x prefix: no
// top-level domain looks like that, so host is meant as an IP address.
func looksNumeric(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if l := strings.ToLower(last); strings.HasPrefix(l, "0x") {
		return true
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// NewClient returns the HTTP client for webhook deliveries; timeout bounds one attempt. Unless
// allowPrivate is set, it refuses to connect to non-public addresses, checked on the very address
// being dialled after DNS resolution: a name that resolved to a public address when the URL was
// saved may resolve to 127.0.0.1 now (DNS rebinding). It never follows redirects, since a
// redirect is an unchecked second URL and the receiver should answer at the URL it gave us.
// perHost is how many attempts may be in flight to one host at once (the instance's delivery
// slots: clients may share a host): as many connections are kept open between deliveries, so a
// busy endpoint is not redialled.
func NewClient(timeout time.Duration, allowPrivate bool, perHost int) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.ControlContext = refusePrivate
	}
	// No proxy: a proxy would make the connection to its own address, so the dial check would
	// vet the proxy and not the webhook host.
	tr := outcall.Transport(dialer.DialContext, nil, perHost)
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// refusePrivate is the dialler's Control hook: it runs after resolution, once per address tried,
// just before connect.
func refusePrivate(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: an address we cannot read is an address we cannot vouch for.
		return fmt.Errorf("%w: cannot check dialled address %q: %v", ErrPrivateAddress, address, err)
	}
	if !IsPublic(ap.Addr()) {
		return fmt.Errorf("%w: refusing to connect to %s", ErrPrivateAddress, ap.Addr().Unmap())
	}
	return nil
}
