// Package twilio sends SMS through Twilio's Messages REST API, takes the messages contacts send
// to Twilio numbers (SMS, MMS, WhatsApp) and reads its status callbacks, every request
// verified with X-Twilio-Signature (Verify).
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/httpapi"
)

// Config is one Twilio account.
type Config struct {
	AccountSID string `json:"account_sid"`
	AuthToken  string `json:"auth_token"`
	// MessagingServiceSID, when set, sends through a Messaging Service: Twilio then picks the
	// sender from the service's pool (and Ibiki's sticky sender does not apply).
	MessagingServiceSID string `json:"messaging_service_sid"`
	// StatusCallback is the public URL of this provider's status endpoint
	// (https://<ibiki>/webhooks/<name>/status); Twilio's signatures are checked against it.
	// Unset, it is derived from IBIKI_PUBLIC_URL (WithPublicURL); with neither, Twilio is not
	// asked for delivery reports.
	StatusCallback string `json:"status_callback"`
	// BaseURL is Twilio's API (default https://api.twilio.com; tests point it at a fake).
	BaseURL string  `json:"base_url"`
	Rate    float64 `json:"rate"`
	// ConversationsBaseURL is Twilio's Conversations API (default
	// https://conversations.twilio.com), read for participants and written for replies.
	ConversationsBaseURL string `json:"conversations_base_url"`
	// ConversationsAuthor is the author of Ibiki's messages in Twilio conversations (default
	// "ibiki"): messages by that author are Ibiki's own, never taken as inbound.
	ConversationsAuthor string `json:"conversations_author"`
	// ConversationsReplies sends a message to a contact who has a Twilio conversation with the
	// sending number into that conversation (Conversations API), so that it stays in the same
	// thread; other messages, and messages with media, go through the Messages API.
	ConversationsReplies bool `json:"conversations_replies"`
}

// WithPublicURL returns the configuration with StatusCallback derived from Ibiki's public
// address when the operator left it unset: <publicURL>/webhooks/<name>/status, the route of
// the status endpoint (internal/hooks), so that Twilio messages get delivery reports by
// default. A configured StatusCallback, or an empty publicURL, leaves it as it is.
func (c Config) WithPublicURL(publicURL, name string) Config {
	if c.StatusCallback == "" && publicURL != "" {
		c.StatusCallback = strings.TrimRight(publicURL, "/") + "/webhooks/" + url.PathEscape(name) + "/status"
	}
	return c
}

// Client is a configured Twilio account.
type Client struct {
	cfg    Config
	http   *http.Client
	guard  provider.Guard // the entry's webhook protection (FromEntry)
	name   string         // the entry's name: the Provider of the messages it takes
	region string         // reads numbers written without a country code
	log    *slog.Logger

	convURL      string        // ConversationsBaseURL without its trailing slash
	participants memo[binding] // by participant sid
	threads      memo[string]  // conversation sid by threadKey(address, proxy)
	fetched      atomic.Int64  // participants fetched from the REST API
}

// New checks the configuration.
func New(cfg Config, httpClient *http.Client) (*Client, error) {
	if !strings.HasPrefix(cfg.AccountSID, "AC") || cfg.AuthToken == "" {
		return nil, fmt.Errorf("twilio: account_sid (AC…) and auth_token are required")
	}
	if cfg.MessagingServiceSID != "" && !strings.HasPrefix(cfg.MessagingServiceSID, "MG") {
		return nil, fmt.Errorf("twilio: messaging_service_sid must start with MG")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.twilio.com"
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.ConversationsAuthor != "" && (provider.NotText(cfg.ConversationsAuthor) != "" || len(cfg.ConversationsAuthor) > 128) {
		return nil, fmt.Errorf("twilio: conversations_author must be text of at most 128 bytes")
	}
	c := &Client{cfg: cfg, http: httpClient, convURL: strings.TrimRight(cfg.ConversationsBaseURL, "/"), log: slog.New(slog.DiscardHandler)}
	if c.convURL == "" {
		c.convURL = defaultConversationsURL
	}
	return c, nil
}

// FromEntry builds the adapter of a providers-file entry, whose fields are Config's; without a
// status_callback, Twilio is asked to report to {IBIKI_PUBLIC_URL}/webhooks/{name}/status.
func FromEntry(e provider.Entry, env provider.Env) (provider.Adapter, error) {
	var cfg Config
	if err := e.Decode(&cfg); err != nil {
		return nil, err
	}
	c, err := New(cfg.WithPublicURL(env.PublicURL, e.Name), env.HTTP)
	if err != nil {
		return nil, err
	}
	c.guard, c.name, c.region = e.Guard, e.Name, env.Region
	if env.Log != nil {
		c.log = env.Log
	}
	return c, nil
}

// Supports: Twilio sends, posts the messages contacts send to its numbers (SMS, MMS and
// WhatsApp) and the calls made to them, and calls back with delivery reports, all signed.
func (c *Client) Supports() provider.Features {
	return provider.FeatureSend | provider.FeatureInbound | provider.FeatureStatus | provider.FeatureVerify | provider.FeatureVoice |
		provider.FeatureConversations
}

// Capabilities: Twilio sends from the number given unless a Messaging Service picks it; it has
// no idempotency key and no lookup by our id, so an interrupted send is not repeated. It
// carries WhatsApp (from a WhatsApp-enabled sender) and media.
func (c *Client) Capabilities() provider.Capabilities {
	return provider.Capabilities{ChooseSender: c.cfg.MessagingServiceSID == "", MaxPerSecond: c.cfg.Rate,
		Channels: []model.Channel{model.ChannelWhatsApp}, Media: true}
}

// Send creates a Message.
func (c *Client) Send(ctx context.Context, m provider.Outbound) (provider.SendResult, error) {
	prefix := ""
	if m.Channel == model.ChannelWhatsApp {
		prefix = whatsappPrefix
	}
	if c.cfg.ConversationsReplies && m.From != "" && len(m.MediaURLs) == 0 {
		conv, err := c.thread(ctx, prefix+m.To, prefix+m.From)
		if err != nil {
			// Nothing was sent: the message waits and tries again.
			return provider.SendResult{}, &provider.SendError{Code: "conversation_lookup", Message: err.Error()}
		}
		if conv != "" {
			res, err := c.sendInConversation(ctx, conv, m)
			var se *provider.SendError
			if !errors.As(err, &se) || !se.Permanent {
				return res, err
			}
			// The conversation is closed or gone: forget it, and send through the Messages API.
			c.threads.put(threadKey(prefix+m.To, prefix+m.From), "", 5*time.Minute)
		}
	}
	form := url.Values{"To": {prefix + m.To}}
	if m.Body != "" || len(m.MediaURLs) == 0 {
		form.Set("Body", m.Body)
	}
	for _, u := range m.MediaURLs {
		form.Add("MediaUrl", u)
	}
	switch {
	case c.cfg.MessagingServiceSID != "":
		form.Set("MessagingServiceSid", c.cfg.MessagingServiceSID)
	case m.From != "":
		form.Set("From", prefix+m.From)
	default:
		return provider.SendResult{}, &provider.SendError{Permanent: true, Code: "no_sender",
			Message: "Twilio needs a From number or a Messaging Service; add a number for this client or the pool"}
	}
	if c.cfg.StatusCallback != "" {
		form.Set("StatusCallback", c.cfg.StatusCallback)
	}
	u := c.cfg.BaseURL + "/2010-04-01/Accounts/" + url.PathEscape(c.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.SendResult{}, &provider.SendError{Permanent: true, Code: "bad_request", Message: err.Error()}
	}
	req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return provider.SendResult{}, httpapi.NotSent(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var out struct {
		SID     string `json:"sid"`
		Status  string `json:"status"`
		From    string `json:"from"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &out)
	if err := httpapi.Classify(res, body); err != nil {
		if se, ok := err.(*provider.SendError); ok && out.Code != 0 {
			se.Code, se.Message = strconv.Itoa(out.Code), out.Message
			if known, ok := errorTexts[se.Code]; ok {
				se.Message = known + " (" + out.Message + ")"
			}
		}
		return provider.SendResult{}, err
	}
	if out.SID == "" {
		return provider.SendResult{}, fmt.Errorf("twilio: answer without a sid: %.200s", body)
	}
	// A WhatsApp sender comes back as "whatsapp:+…": the message keeps the number.
	return provider.SendResult{ProviderMessageID: out.SID, Status: mapStatus(out.Status), From: strings.TrimPrefix(out.From, whatsappPrefix)}, nil
}

// mapStatus turns Twilio's message status into Ibiki's ("" for the ones before "sent").
func mapStatus(s string) model.MessageStatus {
	switch s {
	case "sent":
		return model.StatusSent
	case "delivered", "read":
		return model.StatusDelivered
	case "undelivered":
		return model.StatusUndelivered
	case "failed", "canceled":
		return model.StatusFailed
	default: // accepted, scheduled, queued, sending
		return ""
	}
}

// Verify applies the entry's webhook protection, then checks X-Twilio-Signature (see
// validSignature for how leniently). Twilio signs the URL it called: the URL of the request as
// Twilio wrote it (provider.Request.URL, rebuilt from IBIKI_PUBLIC_URL behind a proxy), or, for
// a status callback, also the configured StatusCallback it was given.
func (c *Client) Verify(r provider.Request) error {
	if err := c.guard.Verify(r); err != nil {
		return err
	}
	targets := []string{r.URL()}
	if r.Status && c.cfg.StatusCallback != "" {
		targets = []string{c.cfg.StatusCallback, targets[0]}
	}
	sig := r.HTTP.Header.Get("X-Twilio-Signature")
	for _, target := range targets {
		ok, err := validSignature(c.cfg.AuthToken, target, r.Body, sig)
		if err != nil {
			if r.Status {
				return fmt.Errorf("%w: status callback is not a form", provider.ErrMalformed)
			}
			return err
		}
		if ok {
			return nil
		}
	}
	return ErrSignature
}

// ParseStatus reads a verified status callback.
func (c *Client) ParseStatus(r provider.Request) ([]provider.StatusUpdate, error) {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: status callback is not a form", provider.ErrMalformed)
	}
	status := mapStatus(form.Get("MessageStatus"))
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	if status == "" || sid == "" {
		return nil, nil // a step before "sent", or not about a message: nothing to record
	}
	u := provider.StatusUpdate{ProviderMessageID: sid, Status: status, ErrorCode: form.Get("ErrorCode"),
		MessageID: r.HTTP.URL.Query().Get(replyParam)}
	if u.ErrorCode != "" {
		u.ErrorMessage = ErrorText(u.ErrorCode)
	}
	return []provider.StatusUpdate{u}, nil
}

// errorTexts explain the Twilio error codes a client most often meets, WhatsApp's first.
var errorTexts = map[string]string{
	"63016": "WhatsApp: outside the 24-hour window since the contact last wrote; only an approved template can be sent",
	"63003": "WhatsApp: the recipient's number is not on WhatsApp or cannot be reached there",
	"63007": "WhatsApp: the sender is not a WhatsApp sender of this Twilio account",
	"63018": "WhatsApp: the sender's rate limit was exceeded",
	"30003": "the recipient's handset is unreachable",
	"30004": "the recipient blocked the message",
	"30005": "the recipient's number is unknown or no longer in service",
	"30006": "the recipient's number is a landline or cannot receive SMS",
	"30007": "the carrier filtered the message",
	"30008": "the carrier could not deliver the message (unknown error)",
	"21610": "the recipient replied STOP to this sender",
	"21408": "the sender has no permission to send to this region",
}

// ErrorText is Twilio's error code explained: a sentence for the codes clients meet most,
// "Twilio error <code>" for the others.
func ErrorText(code string) string {
	if t, ok := errorTexts[code]; ok {
		return t + " (Twilio error " + code + ")"
	}
	return "Twilio error " + code
}
