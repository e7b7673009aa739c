package provider

import (
	"net"
	"net/http"
	"time"

	"github.com/ibiki/ibiki/internal/outcall"
)

// NewHTTPClient returns the client adapters call their providers with. perHost is how many
// calls may be in flight to one provider at once (the instance's send slots): as many
// connections are kept open between sends, so a busy provider is never redialled (Go's default
// keeps two, and a dispatch of 64 sends would open a connection for nearly every message).
// timeout bounds one call. Unlike webhook deliveries, provider URLs are the operator's own
// configuration, so no address is refused, and the environment's proxy applies.
func NewHTTPClient(timeout time.Duration, perHost int) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: outcall.Transport(dialer.DialContext, http.ProxyFromEnvironment, perHost), Timeout: timeout}
}
