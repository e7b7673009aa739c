package auth

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address of the party that called us. It is the connection's peer
// (RemoteAddr) unless that peer is one of our trusted proxies: then X-Forwarded-For is read from
// the right, because each proxy appends the address it saw, and only entries added by trusted
// proxies can be believed. The first address not in trusted is the caller. An unparsable entry
// on that walk means the chain cannot be trusted, so the peer address is returned. If every entry
// is a trusted proxy, the leftmost one is the furthest hop known. The zero Addr means RemoteAddr
// itself was unreadable.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseHostAddr(r.RemoteAddr)
	if !peer.IsValid() || !inAny(trusted, peer) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr := parseHostAddr(strings.TrimSpace(hops[i]))
		if !addr.IsValid() {
			return peer
		}
		if !inAny(trusted, addr) {
			return addr
		}
		last = addr
	}
	return last
}

// parseHostAddr reads "ip", "ip:port" or "[ipv6]:port", unmapped and without zone so that it
// compares equal to the prefixes of an allow list.
func parseHostAddr(s string) netip.Addr {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		addr = ap.Addr()
	}
	return addr.Unmap().WithZone("")
}

func inAny(nets []netip.Prefix, addr netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
