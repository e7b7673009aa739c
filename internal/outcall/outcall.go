// Package outcall builds the transport of Ibiki's own HTTP calls out (to providers, to clients'
// webhooks): connections kept open per host for as many calls as may be in flight to it.
package outcall

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Transport returns http.DefaultTransport's settings, built field by field rather than cloned
// from http.DefaultTransport (whose value any package may replace), except: dial is the
// caller's (with its checks), there is no proxy unless proxy says which, and perHost idle
// connections are kept per host (Go's default keeps two, so a busy host would be redialled for
// nearly every call).
func Transport(dial func(ctx context.Context, network, addr string) (net.Conn, error),
	proxy func(*http.Request) (*url.URL, error), perHost int) *http.Transport {
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no limit in all: each host's is below (idle ones close after 90 s)
		MaxIdleConnsPerHost:   max(perHost, 2),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
