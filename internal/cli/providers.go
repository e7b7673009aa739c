package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"time"

	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/extremesms"
	"github.com/ibiki/ibiki/internal/provider/httpapi"
	"github.com/ibiki/ibiki/internal/provider/simulator"
	"github.com/ibiki/ibiki/internal/provider/twilio"
)

// providersFile is the operator's provider configuration (IBIKI_PROVIDERS_FILE): credentials
// and throughput limits, changed without a code change. See docs/providers.md.
type providersFile struct {
	Default   string            `json:"default"`
	Providers []json.RawMessage `json:"providers"`
}

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// buildProviders returns the outbound providers: the simulator alone when no file is
// configured, else the file's. sim is the simulator when one is configured.
func buildProviders(cfg config.Config) (reg *provider.Registry, sim *simulator.Simulator, err error) {
	reg = provider.NewRegistry()
	if cfg.ProvidersFile == "" {
		sim = simulator.New(simulator.Config{Rate: cfg.Simulator.Rate, Latency: cfg.Simulator.Latency,
			FailureRatio: cfg.Simulator.FailureRatio})
		reg.Add("simulator", "simulator", sim)
		return reg, sim, nil
	}
	b, err := os.ReadFile(cfg.ProvidersFile)
	if err != nil {
		return nil, nil, fmt.Errorf("IBIKI_PROVIDERS_FILE: %w", err)
	}
	var f providersFile
	if err := strict(b, &f); err != nil {
		return nil, nil, fmt.Errorf("IBIKI_PROVIDERS_FILE %s: %w", cfg.ProvidersFile, err)
	}
	if len(f.Providers) == 0 {
		return nil, nil, fmt.Errorf("IBIKI_PROVIDERS_FILE %s lists no providers", cfg.ProvidersFile)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for i, raw := range f.Providers {
		name, typ, s, err := buildProvider(raw, cfg, client)
		if err != nil {
			return nil, nil, fmt.Errorf("IBIKI_PROVIDERS_FILE %s: providers[%d]: %w", cfg.ProvidersFile, i, err)
		}
		if _, dup := reg.Get(name); dup {
			return nil, nil, fmt.Errorf("IBIKI_PROVIDERS_FILE %s: provider %q is listed twice", cfg.ProvidersFile, name)
		}
		reg.Add(name, typ, s)
		if ss, ok := s.(*simulator.Simulator); ok && sim == nil {
			sim = ss
		}
	}
	if f.Default != "" {
		if err := reg.SetDefault(f.Default); err != nil {
			return nil, nil, fmt.Errorf("IBIKI_PROVIDERS_FILE %s: default: %w", cfg.ProvidersFile, err)
		}
	}
	return reg, sim, nil
}

func buildProvider(raw json.RawMessage, cfg config.Config, client *http.Client) (name, typ string, s provider.Sender, err error) {
	var head struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", "", nil, err
	}
	if !providerName.MatchString(head.Name) {
		return "", "", nil, fmt.Errorf("name %q must be 1-32 characters of a-z, 0-9, _ and -", head.Name)
	}
	// Each type's own fields, with name and type allowed and anything unknown refused (a typo
	// in a credential's name should not pass silently).
	var without map[string]json.RawMessage
	_ = json.Unmarshal(raw, &without)
	delete(without, "name")
	delete(without, "type")
	rest, _ := json.Marshal(without)
	switch head.Type {
	case "simulator":
		var c struct {
			Rate         float64          `json:"rate"`
			Latency      httpapi.Duration `json:"latency"`
			FailureRatio float64          `json:"failure_ratio"`
		}
		if err = strict(rest, &c); err == nil && (c.FailureRatio < 0 || c.FailureRatio > 1) {
			err = errors.New("failure_ratio must be from 0 to 1")
		}
		s = simulator.New(simulator.Config{Rate: c.Rate, Latency: time.Duration(c.Latency), FailureRatio: c.FailureRatio})
	case "extremesms":
		var c extremesms.SendConfig
		if err = strict(rest, &c); err == nil {
			s, err = extremesms.NewSender(c, client)
		}
	case "twilio":
		var c twilio.Config
		if err = strict(rest, &c); err == nil {
			s, err = twilio.New(c.WithPublicURL(cfg.PublicURL, head.Name), client)
		}
	case "http":
		var c httpapi.Config
		if err = strict(rest, &c); err == nil {
			s, err = httpapi.New(c, client)
		}
	default:
		err = fmt.Errorf("type %q is not simulator, extremesms, twilio or http", head.Type)
	}
	if err != nil {
		return "", "", nil, fmt.Errorf("%s: %w", head.Name, err)
	}
	return head.Name, head.Type, s, nil
}

func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
