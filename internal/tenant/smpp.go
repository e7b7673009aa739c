package tenant

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

// SMPP 3.4 bounds a bind's system_id to 15 characters and its password to 8 (their fields are
// 16 and 9 octets with the closing NUL).
const (
	MaxSMPPSystemID = 15
	SMPPPasswordLen = 8
	// MaxSMPPBinds bounds the binds one client may be allowed at once.
	MaxSMPPBinds = 64
	// MaxSMPPRate bounds a client's submit_sm a second.
	MaxSMPPRate = 100_000
	// DefaultSMPPBinds is how many binds a client may hold unless the operator says.
	DefaultSMPPBinds = 4
)

// ErrSMPPSystemID is a client whose id is too long to be an SMPP system_id.
var ErrSMPPSystemID = fmt.Errorf("the client id is longer than the %d characters SMPP allows a system_id", MaxSMPPSystemID)

// SMPPSettings are the settings of a client's SMPP login; nil fields keep what it had (or take
// the defaults on the first login).
type SMPPSettings struct {
	AllowedIPs *[]string
	MaxBinds   *int
	MODelivery *string
	Rate       *int
}

// smppAlphabet is the password's: letters and digits, without those read alike (0/O, 1/l/I).
const smppAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newSMPPPassword() string {
	b := make([]byte, SMPPPasswordLen)
	for i := range b {
		b[i] = smppAlphabet[randIndex(len(smppAlphabet))]
	}
	return string(b)
}

// randIndex is a uniform index below n (rejection sampling over one byte).
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// SMPPPassword gives a client a new SMPP password (creating its login, or rotating it: the
// former password stops working for new binds at once) and applies the settings given. The
// password is returned here only: just its argon2id hash is kept, like a dashboard user's.
func (s *Service) SMPPPassword(ctx context.Context, id string, set SMPPSettings) (model.SMPPAccount, string, error) {
	if len(id) > MaxSMPPSystemID {
		if _, err := s.Store.Client(ctx, id); err != nil {
			return model.SMPPAccount{}, "", fmt.Errorf("tenant: smpp password of %s: %w", id, err)
		}
		return model.SMPPAccount{}, "", ErrSMPPSystemID
	}
	var a model.SMPPAccount
	password := newSMPPPassword()
	_, err := s.change(ctx, id, func(tx *store.Tx, c *model.Client) error {
		old, err := tx.SMPPAccount(ctx, c.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			old = model.SMPPAccount{ClientID: c.ID, MaxBinds: DefaultSMPPBinds, MODelivery: model.SMPPMOFallback,
				CreatedAt: s.now()}
		case err != nil:
			return err
		}
		if a, err = applySMPP(old, set); err != nil {
			return err
		}
		a.PasswordHash, a.RotatedAt = auth.HashPassword(password), s.now()
		return tx.PutSMPPAccount(ctx, a)
	})
	if err != nil {
		return model.SMPPAccount{}, "", err
	}
	return a, password, nil
}

func applySMPP(a model.SMPPAccount, set SMPPSettings) (model.SMPPAccount, error) {
	if set.AllowedIPs != nil {
		nets, err := ParseAllowedIPs(*set.AllowedIPs)
		if err != nil {
			return a, err
		}
		a.AllowedIPs = nets
	}
	if set.MaxBinds != nil {
		if *set.MaxBinds < 1 || *set.MaxBinds > MaxSMPPBinds {
			return a, invalid("max_binds", fmt.Sprintf("max_binds must be a whole number from 1 to %d", MaxSMPPBinds))
		}
		a.MaxBinds = *set.MaxBinds
	}
	if set.MODelivery != nil {
		if *set.MODelivery != model.SMPPMOFallback && *set.MODelivery != model.SMPPMOBoth {
			return a, invalid("mo_delivery", `mo_delivery must be "fallback" (over a receiver bind when one is up, else the webhook) or "both"`)
		}
		a.MODelivery = *set.MODelivery
	}
	if set.Rate != nil {
		if *set.Rate < 0 || *set.Rate > MaxSMPPRate {
			return a, invalid("rate", fmt.Sprintf("rate must be a whole number of submit_sm a second from 0 (no limit) to %d", MaxSMPPRate))
		}
		a.Rate = *set.Rate
	}
	return a, nil
}

// ParseAllowedIPs checks the addresses a client may bind from (addresses or CIDR prefixes) and
// returns them as stored: canonical prefixes, comma-separated.
func ParseAllowedIPs(in []string) (string, error) {
	if len(in) > 100 {
		return "", invalid("allowed_ips", "allowed_ips holds at most 100 entries")
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		p, err := parsePrefix(strings.TrimSpace(s))
		if err != nil {
			return "", invalid("allowed_ips", fmt.Sprintf("%q is not an IP address or CIDR prefix (203.0.113.7, 203.0.113.0/24, 2001:db8::/32)", s))
		}
		out = append(out, p.String())
	}
	return strings.Join(out, ","), nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// AllowedIP reports whether addr may bind under the stored allowed prefixes ("" allows any).
func AllowedIP(allowed string, addr netip.Addr) bool {
	if allowed == "" {
		return true
	}
	addr = addr.Unmap()
	for _, s := range strings.Split(allowed, ",") {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}
