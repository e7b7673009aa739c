// Host names are resolved by Go's own resolver, as when Ibiki was built without cgo: the SQLite
// driver needs cgo, which would let the net package pick the C library's resolver on some hosts
// (with its own caching and configuration). Which resolver it is does not matter to the webhook
// address guard, which checks the address actually dialled.
//
//go:debug netdns=go

// Command ibiki is the Ibiki SMS middleware. See `ibiki help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ibiki/ibiki/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
