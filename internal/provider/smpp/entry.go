package smpp

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
)

// entryFields are an smpp entry's own fields in the providers file (docs/providers.md).
type entryFields struct {
	Address            string            `json:"address"` // host:port of the SMSC
	SystemID           string            `json:"system_id"`
	Password           string            `json:"password"`
	SystemType         string            `json:"system_type"`
	Binds              int               `json:"binds"`        // transceiver binds (1)
	Window             int               `json:"window"`       // submits in flight per bind (10)
	EnquireLink        provider.Duration `json:"enquire_link"` // keep-alive (30s)
	Timeout            provider.Duration `json:"timeout"`      // response timeout (10s)
	Reconnect          provider.Duration `json:"reconnect"`    // first wait before a reconnect (1s), doubling
	MaxReconnect       provider.Duration `json:"max_reconnect"`
	Rate               float64           `json:"rate"` // messages a second (0: unlimited)
	SourceTON          *byte             `json:"source_ton"`
	SourceNPI          *byte             `json:"source_npi"`
	DestTON            *byte             `json:"dest_ton"`
	DestNPI            *byte             `json:"dest_npi"`
	Plus               bool              `json:"plus"`                // keep the leading + of E.164 numbers
	GSMDataCoding      *byte             `json:"gsm_data_coding"`     // data_coding of GSM-7 text (0)
	Concatenation      string            `json:"concatenation"`       // udh (default) or sar
	RegisteredDelivery *bool             `json:"registered_delivery"` // ask receipts (true)
	SubmitIDForm       string            `json:"submit_id"`           // text (default), hex or decimal
	ReceiptIDForm      string            `json:"receipt_id"`          // as submit_id when unset
	// MORepeatWindow: the same mobile-originated message delivered again within it is a repeat
	// (DefaultRepeatWindow when unset; "0s": never).
	MORepeatWindow *provider.Duration `json:"mo_repeat_window"`
}

// DefaultRepeatWindow is how long a mobile-originated message delivered again is recognised as
// a repeat when the providers file does not say (mo_repeat_window).
const DefaultRepeatWindow = 10 * time.Minute

// FromEntry builds an SMPP connector from its providers-file entry. Its receipts go to
// env.Status under the entry's name. The binds start when the server starts the connector
// (Start) and end with a clean unbind (Close).
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	var f entryFields
	if err := e.Decode(&f); err != nil {
		return nil, err
	}
	cfg, err := f.config(e.Name)
	if err != nil {
		return nil, err
	}
	cfg.Status, cfg.Inbound, cfg.Region, cfg.Log = env.Status, env.Inbound, env.Region, env.Log
	return New(cfg), nil
}

func (f entryFields) config(name string) (Config, error) {
	c := Config{Name: name, Address: f.Address, SystemID: f.SystemID, Password: f.Password, SystemType: f.SystemType,
		Binds: f.Binds, Window: f.Window, EnquireLink: time.Duration(f.EnquireLink), Timeout: time.Duration(f.Timeout),
		Reconnect: time.Duration(f.Reconnect), MaxReconnect: time.Duration(f.MaxReconnect), Rate: f.Rate,
		SourceTON: pdu.TONInternational, SourceNPI: pdu.NPIISDN, DestTON: pdu.TONInternational, DestNPI: pdu.NPIISDN,
		Plus: f.Plus, SAR: f.Concatenation == "sar", RegisteredDelivery: f.RegisteredDelivery == nil || *f.RegisteredDelivery}
	if _, _, err := net.SplitHostPort(f.Address); err != nil {
		return c, fmt.Errorf("address must be host:port: %v", err)
	}
	switch {
	case f.SystemID == "":
		return c, errors.New("system_id is required")
	case len(f.SystemID) > 15:
		return c, errors.New("system_id is longer than 15 characters")
	case len(f.Password) > 8:
		return c, errors.New("password is longer than 8 characters (SMPP 3.4)")
	case len(f.SystemType) > 12:
		return c, errors.New("system_type is longer than 12 characters")
	case f.Binds < 0 || f.Binds > 64:
		return c, errors.New("binds must be from 1 to 64")
	case f.Window < 0 || f.Window > 1000:
		return c, errors.New("window must be from 1 to 1000")
	case f.Rate < 0:
		return c, errors.New("rate must not be negative")
	case f.Concatenation != "" && f.Concatenation != "udh" && f.Concatenation != "sar":
		return c, fmt.Errorf("concatenation %q is neither udh nor sar", f.Concatenation)
	}
	c.RepeatWindow = DefaultRepeatWindow
	if f.MORepeatWindow != nil {
		c.RepeatWindow = time.Duration(*f.MORepeatWindow)
	}
	if c.RepeatWindow < 0 || c.RepeatWindow > 24*time.Hour || c.RepeatWindow > 0 && c.RepeatWindow < time.Second {
		return c, errors.New("mo_repeat_window must be 0s, or from 1s to 24h")
	}
	for _, v := range []struct {
		p   *byte
		dst *byte
	}{{f.SourceTON, &c.SourceTON}, {f.SourceNPI, &c.SourceNPI}, {f.DestTON, &c.DestTON}, {f.DestNPI, &c.DestNPI},
		{f.GSMDataCoding, &c.GSMDataCoding}} {
		if v.p != nil {
			*v.dst = *v.p
		}
	}
	var err error
	if c.SubmitIDForm, err = idForm("submit_id", f.SubmitIDForm); err != nil {
		return c, err
	}
	c.ReceiptIDForm = c.SubmitIDForm
	if f.ReceiptIDForm != "" {
		if c.ReceiptIDForm, err = idForm("receipt_id", f.ReceiptIDForm); err != nil {
			return c, err
		}
	}
	return c, nil
}

func idForm(field, s string) (pdu.IDForm, error) {
	switch s {
	case "", "text":
		return pdu.IDText, nil
	case "hex":
		return pdu.IDHex, nil
	case "decimal":
		return pdu.IDDecimal, nil
	}
	return 0, fmt.Errorf("%s %q is not one of text, hex, decimal", field, s)
}
