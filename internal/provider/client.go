package provider

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns the client adapters call their providers with. perHost is how many
// calls may be in flight to one provider at once (the instance's send slots): as many
// connections are kept open between sends, so a busy provider is never redialled (Go's default
// keeps two, and a dispatch of 64 sends would open a connection for nearly every message).
// timeout bounds one call. Unlike webhook deliveries, provider URLs are the operator's own
// configuration, so no address is refused.
func NewHTTPClient(timeout time.Duration, perHost int) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	// Built field by field rather than cloned from http.DefaultTransport, whose value any
	// package may replace.
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no limit in all: each host's is below (idle ones close after 90 s)
		MaxIdleConnsPerHost:   max(perHost, 2),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}
