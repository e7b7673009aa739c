package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefixes parses a comma-separated list of IPs and CIDR prefixes, as written in
// configuration ("1.2.3.4, 10.0.0.0/8, ::1"). A bare IP allows that address only. An empty list
// (or one of only commas and spaces) is nil, which
// allows every caller.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var nets []netip.Prefix
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue // a trailing comma in a config file is not worth refusing to start for
		}
		p, err := parsePrefix(entry)
		if err != nil {
			return nil, fmt.Errorf("bad entry %q: not an IP address or CIDR prefix", entry)
		}
		nets = append(nets, p)
	}
	return nets, nil
}

// parsePrefix reads "ip" or "ip/bits". IPv4-mapped IPv6 entries are turned into IPv4, because
// Check compares the caller's unmapped address and would otherwise never match them.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		addr = addr.Unmap().WithZone("")
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
