package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/extremesms"
	"github.com/ibiki/ibiki/internal/provider/generic"
	"github.com/ibiki/ibiki/internal/provider/httpapi"
	"github.com/ibiki/ibiki/internal/provider/simulator"
	"github.com/ibiki/ibiki/internal/provider/smpp"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

// adapterTypes are the types a providers-file entry may name, each built by its adapter
// package's constructor. Adding a provider is one package and one line here: the registry,
// the webhook routes (hooks) and the operator's pages find what it can do by its interfaces.
var adapterTypes = map[string]provider.Constructor{
	"extremesms": extremesms.FromEntry,
	"generic":    generic.FromEntry,
	"http":       httpapi.FromEntry,
	"simulator":  simulator.FromEntry,
	"smpp":       smpp.FromEntry,
	"twilio":     twilio.FromEntry,
}

// loadProviders builds every configured adapter into reg (see providerEntries) and sets the
// default sender. A wrong entry is an error that names it, and the server does not start.
func loadProviders(reg *provider.Registry, cfg config.Config, env provider.Env) error {
	entries, def, err := providerEntries(cfg)
	if err != nil {
		return err
	}
	for _, e := range entries {
		a, err := newAdapter(e, env)
		if err == nil {
			err = reg.Add(e.Name, e.Type, a)
		}
		if err != nil {
			return fmt.Errorf("%s%s: %w", fileLabel(cfg), e.Name, err)
		}
	}
	if def != "" {
		if err := reg.SetDefault(def); err != nil {
			return fmt.Errorf("%sdefault: %w", fileLabel(cfg), err)
		}
	}
	if reg.Default() == "" {
		return fmt.Errorf("%slists no provider that sends", fileLabel(cfg))
	}
	return nil
}

// fileLabel starts the errors about the providers' configuration.
func fileLabel(cfg config.Config) string {
	if cfg.ProvidersFile == "" {
		return "providers: "
	}
	return "IBIKI_PROVIDERS_FILE " + cfg.ProvidersFile + ": "
}

// newAdapter builds one entry with its type's constructor.
func newAdapter(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	build, ok := adapterTypes[e.Type]
	if !ok {
		return nil, fmt.Errorf("type %q is not one of %s", e.Type, strings.Join(slices.Sorted(maps.Keys(adapterTypes)), ", "))
	}
	a, err := build(e, env)
	if err != nil {
		return nil, err
	}
	if _, verifies := a.(provider.Verifier); !verifies && !e.Guard.Empty() {
		return nil, fmt.Errorf("a %s provider like this one takes no webhooks: the webhook_* fields would protect nothing", e.Type)
	}
	return a, nil
}

// providerEntries returns the entries to build and the default sender's name ("": the first
// that sends). Without a providers file they are today's defaults: the simulator (tuned by
// IBIKI_SIMULATOR_*) and the extremesms and generic inbound sources. A file lists the
// providers that send (at least one); it keeps the extremesms and generic sources unless it
// has entries of those names itself. IBIKI_SOURCE_EXTREMESMS_* and IBIKI_SOURCE_GENERIC_*
// protect the entries of those names, unless the entry has webhook_* fields of its own: both
// at once stop the start.
func providerEntries(cfg config.Config) ([]provider.Entry, string, error) {
	var (
		entries []provider.Entry
		def     string
		err     error
	)
	if cfg.ProvidersFile == "" {
		entries = []provider.Entry{simulatorEntry(cfg)}
	} else if entries, def, err = readProvidersFile(cfg.ProvidersFile); err != nil {
		return nil, "", fmt.Errorf("%s%w", fileLabel(cfg), err)
	}
	// The default inbound sources are the ones IBIKI_SOURCE_* settings name. Their URLs
	// (/webhooks/extremesms, /webhook/incoming-sms, /webhooks/generic) are promised to take
	// those providers' webhooks, so an entry of one of those names must be of that type.
	for _, name := range config.SourceNames {
		i := slices.IndexFunc(entries, func(e provider.Entry) bool { return e.Name == name })
		switch {
		case i < 0:
			entries = append(entries, provider.Entry{Name: name, Type: name})
		case entries[i].Type != name:
			return nil, "", fmt.Errorf("%sthe entry %q must be of type %q: its webhook URL takes %s's webhooks; give the %s entry another name",
				fileLabel(cfg), name, name, name, entries[i].Type)
		}
	}
	for _, name := range config.SourceNames {
		if err := applySourceSettings(entries, name, cfg.Sources[name]); err != nil {
			return nil, "", fmt.Errorf("%s%w", fileLabel(cfg), err)
		}
	}
	return entries, def, nil
}

// simulatorEntry is the simulator of a server without a providers file, tuned by
// IBIKI_SIMULATOR_*.
func simulatorEntry(cfg config.Config) provider.Entry {
	fields, _ := json.Marshal(map[string]any{"rate": cfg.Simulator.Rate, "latency": cfg.Simulator.Latency.String(),
		"failure_ratio": cfg.Simulator.FailureRatio}) // numbers and a string always encode
	return provider.Entry{Name: "simulator", Type: "simulator", Fields: fields}
}

// applySourceSettings gives the entry called name the protection of IBIKI_SOURCE_<NAME>_*.
func applySourceSettings(entries []provider.Entry, name string, s config.Source) error {
	g := provider.Guard{Token: s.Token, TokenHeader: s.TokenHeader, HMACSecret: s.HMACSecret, HMACHeader: s.HMACHeader,
		AllowNets: s.AllowIPs}
	if g.Empty() {
		return nil
	}
	i := slices.IndexFunc(entries, func(e provider.Entry) bool { return e.Name == name })
	if i < 0 {
		return nil // providerEntries always keeps an entry of each source's name
	}
	if !entries[i].Guard.Empty() {
		return fmt.Errorf("IBIKI_SOURCE_%s_* and the webhook_* fields of the entry %q both protect its webhooks: keep one",
			strings.ToUpper(name), name)
	}
	entries[i].Guard = g
	return nil
}

// providersFile is the operator's provider configuration (IBIKI_PROVIDERS_FILE): credentials,
// throughput limits and webhook protection, changed without a code change. See
// docs/providers.md.
type providersFile struct {
	Default   string            `json:"default"`
	Providers []json.RawMessage `json:"providers"`
}

// readProvidersFile reads the file's entries and its default.
func readProvidersFile(path string) ([]provider.Entry, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var f providersFile
	if err := strict(b, &f); err != nil {
		return nil, "", err
	}
	if len(f.Providers) == 0 {
		return nil, "", errors.New("lists no providers")
	}
	entries := make([]provider.Entry, 0, len(f.Providers))
	for i, raw := range f.Providers {
		e, err := parseEntry(raw)
		if err != nil {
			return nil, "", fmt.Errorf("providers[%d]: %w", i, err)
		}
		if slices.ContainsFunc(entries, func(o provider.Entry) bool { return o.Name == e.Name }) {
			return nil, "", fmt.Errorf("provider %q is listed twice", e.Name)
		}
		entries = append(entries, e)
	}
	return entries, f.Default, nil
}

func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
