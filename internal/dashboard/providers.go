package dashboard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
)

// The configured providers, with their recent traffic and errors.

const errorsPerProvider = 10

func (d *Dashboard) providerNames() []string {
	if d.Providers == nil {
		return nil
	}
	return d.Providers.Names()
}

type statusCount struct {
	Status    model.MessageStatus
	Hour, Day int64
}

type providerRow struct {
	Name, Type string
	Default    bool
	Simulator  bool
	// Configured is false for a provider that messages still name but the configuration no
	// longer has.
	Configured     bool
	Caps           provider.Capabilities
	Reconciles     bool
	StatusCallback string
	Counts         []statusCount
	Hour, Day      int64
	// HourFailed counts failed and undelivered messages of the last hour.
	HourFailed int64
	Errors     []model.Message
	// SMPP: an SMPP provider, with Binds up.
	SMPP  bool
	Binds int
}

// binder is an adapter that keeps binds up (an SMPP connector).
type binder interface{ Bound() int }

// BindCounter tells how many binds each client holds on the SMPP server.
type BindCounter interface{ Binds() map[string]int }

// providersPage is the Providers page: the providers, and the SMPP server's client binds.
type providersPage struct {
	Providers []providerRow
	// SMPPServer: the SMPP server listens; ClientBinds are its clients' binds, by client.
	SMPPServer  bool
	ClientBinds []clientBinds
}

type clientBinds struct {
	Client string
	Binds  int
}

// Limit describes the configured throttle.
func (p providerRow) Limit() string {
	if p.Caps.MaxPerSecond <= 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(p.Caps.MaxPerSecond, 'f', -1, 64) + " messages/s"
}

// PerMinute is the last hour's average rate (two decimals below 10, so that a trickle does
// not read as zero).
func (p providerRow) PerMinute() string {
	r := float64(p.Hour) / 60
	if r < 10 {
		return strconv.FormatFloat(r, 'f', 2, 64)
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}

// listProviders shows the configured outbound providers (never their credentials): what each
// can do, its traffic by status over the last hour and day, and its latest errors.
func (d *Dashboard) listProviders(w http.ResponseWriter, r *http.Request, v *view) error {
	now := d.Clock()
	counts, err := d.Store.ProviderCounts(r.Context(), now.Add(-time.Hour), now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	var rows []providerRow
	index := map[string]int{}
	for _, name := range d.providerNames() {
		s, _ := d.Providers.Get(name)
		p := providerRow{Name: name, Type: d.Providers.Type(name), Default: name == d.Providers.Default(),
			Configured: true, Caps: s.Capabilities()}
		p.Simulator = p.Type == "simulator"
		_, p.Reconciles = s.(provider.Reconciler)
		if b, ok := s.(binder); ok {
			p.SMPP, p.Binds = true, b.Bound()
		}
		if _, ok := s.(provider.StatusParser); ok {
			p.StatusCallback = "/webhooks/" + name + "/status"
		}
		index[name] = len(rows)
		rows = append(rows, p)
	}
	for _, c := range counts {
		i, ok := index[c.Provider]
		if !ok {
			i, index[c.Provider] = len(rows), len(rows)
			rows = append(rows, providerRow{Name: c.Provider})
		}
		p := &rows[i]
		p.Counts = append(p.Counts, statusCount{Status: c.Status, Hour: c.Hour, Day: c.Day})
		p.Hour, p.Day = p.Hour+c.Hour, p.Day+c.Day
		if c.Status == model.StatusFailed || c.Status == model.StatusUndelivered {
			p.HourFailed += c.Hour
		}
	}
	for i := range rows {
		if rows[i].Errors, err = d.Store.ProviderErrors(r.Context(), rows[i].Name, now.Add(-24*time.Hour), errorsPerProvider); err != nil {
			return err
		}
	}
	page := providersPage{Providers: rows, SMPPServer: d.SMPP != nil}
	if d.SMPP != nil {
		for id, n := range d.SMPP.Binds() {
			page.ClientBinds = append(page.ClientBinds, clientBinds{Client: id, Binds: n})
		}
		slices.SortFunc(page.ClientBinds, func(a, b clientBinds) int { return strings.Compare(a.Client, b.Client) })
	}
	d.render(w, r, v, http.StatusOK, "providers", "Providers", page)
	return nil
}
