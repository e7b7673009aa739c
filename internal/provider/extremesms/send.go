package extremesms

import (
	"cmp"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/provider/httpapi"
)

// SendConfig is ExtremeSMS's sending API. It is not public: the defaults are the shape in the
// seed conversation (POST <base>/send, Bearer key, {"to","message"} → {"message_id",
// "carrier_number"}), and every name can be changed in configuration.
type SendConfig struct {
	BaseURL      string `json:"base_url"`
	APIKey       string `json:"api_key"`
	Path         string `json:"path"`          // default "/send"
	ToField      string `json:"to_field"`      // default "to"
	MessageField string `json:"message_field"` // default "message"
	// FromField, when set, names the sender field: the pool then sends from the number Ibiki
	// chose (sticky senders work). Unset, the modem pool picks the number.
	FromField   string  `json:"from_field"`
	IDField     string  `json:"id_field"`     // default "message_id"
	SenderField string  `json:"sender_field"` // default "carrier_number"
	Rate        float64 `json:"rate"`
}

// NewSender returns the ExtremeSMS sending adapter: the generic HTTP adapter with ExtremeSMS's
// defaults.
func NewSender(cfg SendConfig, client *http.Client) (*httpapi.Client, error) {
	body := map[string]string{cmp.Or(cfg.ToField, "to"): "{to}", cmp.Or(cfg.MessageField, "message"): "{body}"}
	if cfg.FromField != "" {
		body[cfg.FromField] = "{from}"
	}
	hc := httpapi.Config{
		URL: strings.TrimRight(cfg.BaseURL, "/") + cmp.Or(cfg.Path, "/send"), Body: body,
		Headers: map[string]string{"Authorization": "Bearer " + cfg.APIKey},
		IDPath:  cmp.Or(cfg.IDField, "message_id"), SenderPath: cmp.Or(cfg.SenderField, "carrier_number"),
		ChooseSender: cfg.FromField != "", Rate: cfg.Rate,
	}
	return httpapi.New(hc, client)
}
