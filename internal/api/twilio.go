package api

// The Twilio-shaped API (docs/twilio-api.md): Twilio's Messages and Accounts resources under
// /2010-04-01/Accounts/{AccountSid}/, so that code written for Twilio's REST API (its SDKs
// included) sends through Ibiki by changing the base URL and the credentials. A client signs in
// with HTTP basic auth AccountSid:AuthToken (auth.TwilioLogin); the resources are the client's
// own messages, shown in Twilio's shapes, and errors come in Twilio's shape and codes.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
)

// twilioVersion is the API version in every path of the Twilio-shaped API.
const twilioVersion = "2010-04-01"

const twilioRoot = "/" + twilioVersion + "/Accounts/"

// registerTwilio adds the Twilio-shaped API's routes. A path segment ending in ".json" is a
// wildcard with its suffix (ServeMux wildcards are whole segments): the handlers cut it.
func (a *API) registerTwilio(mux Mux) {
	tw := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, plainTwilioURL(a.requireTwilio(h))) }
	tw("GET "+twilioRoot+"{account}", a.twilioAccount)
	tw("GET "+twilioRoot+"{account}/Balance.json", a.twilioBalance)
	tw("POST "+twilioRoot+"{account}/Messages.json", a.twilioCreateMessage)
	tw("GET "+twilioRoot+"{account}/Messages.json", a.twilioListMessages)
	tw("GET "+twilioRoot+"{account}/Messages/{sid}", a.twilioFetchMessage)
	tw("POST "+twilioRoot+"{account}/Messages/{sid}", a.twilioUpdateMessage)
	tw("DELETE "+twilioRoot+"{account}/Messages/{sid}", a.twilioDeleteMessage)
	tw("GET "+twilioRoot+"{account}/Messages/{sid}/Media.json", a.twilioListMedia)
	// Anything else under the version is Twilio's 404, in Twilio's shape.
	mux.HandleFunc("/"+twilioVersion+"/", func(w http.ResponseWriter, r *http.Request) {
		twilioErr(w, r, errTwilioNotFound)
	})
}

// twilioError is an error in Twilio's shape: {"code","message","more_info","status"}.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func (e *twilioError) Error() string { return strconv.Itoa(e.Code) + ": " + e.Message }

// CodeInsufficientCredits is Ibiki's own error code (in the Twilio-shaped API) for a send the
// client's balance does not cover; Twilio has no such code (it bills afterwards).
const CodeInsufficientCredits = 99402

func newTwilioError(status, code int, msg string) *twilioError {
	more := "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)
	if code == CodeInsufficientCredits || code/1000 == 20 && code%1000 == status && !twilioGeneric[code] {
		// Ibiki's own codes: documented with the Twilio-shaped API.
		more = "https://github.com/ibiki/ibiki/blob/main/docs/twilio-api.md#errors"
	}
	return &twilioError{Code: code, Message: msg, MoreInfo: more, Status: status}
}

// twilioGeneric are the codes of the form 20000 + HTTP status that Twilio itself uses.
var twilioGeneric = map[int]bool{20403: true, 20404: true, 20429: true, 20500: true, 20503: true}

var (
	errTwilioAuth = newTwilioError(http.StatusUnauthorized, 20003,
		"Authentication Error - invalid username (Account SID) or password (auth token)")
	errTwilioNotFound = newTwilioError(http.StatusNotFound, 20404, "The requested resource was not found")
)

// twilioErr writes err in Twilio's shape, with Twilio's code where one fits. Errors Twilio has
// no code for get 20000 + their HTTP status (Twilio's own pattern: 20404, 20429, 20500...).
func twilioErr(w http.ResponseWriter, r *http.Request, err error) {
	var te *twilioError
	if !errors.As(err, &te) {
		te = twilioErrorOf(err)
		if te.Status == http.StatusInternalServerError {
			respond.Log(r, "request failed", err)
		}
	}
	if te.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	}
	respond.JSON(w, te.Status, te)
}

// twilioErrorOf maps a domain or catalogue error to Twilio's code for it.
func twilioErrorOf(err error) *twilioError {
	var (
		fe *provider.FieldError
		ic *store.InsufficientCreditsError
	)
	switch {
	case errors.As(err, &fe):
		return twilioFieldError(fe)
	case errors.As(err, &ic):
		return newTwilioError(http.StatusPaymentRequired, CodeInsufficientCredits,
			fmt.Sprintf("Insufficient credits: the balance (%d cents) does not cover this message (%d cents)", ic.BalanceCents, ic.NeededCents))
	case errors.Is(err, outbound.ErrOptedOut):
		return newTwilioError(http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
	case errors.Is(err, outbound.ErrSenderNotAllowed), errors.Is(err, outbound.ErrSenderNotSupported):
		return newTwilioError(http.StatusBadRequest, 21606, "The 'From' phone number provided is not a valid message-capable phone number for this destination: "+err.Error())
	case errors.Is(err, outbound.ErrChannelNotSupported):
		return newTwilioError(http.StatusBadRequest, 21612, "The 'To' phone number is not currently reachable via this channel: "+err.Error())
	case errors.Is(err, outbound.ErrMediaNotSupported):
		return newTwilioError(http.StatusBadRequest, 21620, "Invalid media URL(s): "+err.Error())
	case errors.Is(err, outbound.ErrNotScheduled):
		return newTwilioError(http.StatusBadRequest, 30409, "This message cannot be canceled: it is not scheduled (any more)")
	case errors.Is(err, outbound.ErrNotFinished):
		return newTwilioError(http.StatusConflict, 20009, "Cannot delete or redact this message before it is complete")
	}
	e := respond.Map(err)
	switch {
	case e == respond.ErrNotFound:
		return errTwilioNotFound
	case e.Status == http.StatusUnauthorized:
		return errTwilioAuth
	}
	return newTwilioError(e.Status, 20000+e.Status, e.Message)
}

// twilioFieldError maps a bad field of a send to Twilio's code for it.
func twilioFieldError(fe *provider.FieldError) *twilioError {
	bad := func(code int, msg string) *twilioError {
		return newTwilioError(http.StatusBadRequest, code, msg+": "+fe.Reason)
	}
	switch f := fe.Field; {
	case f == "to" || f == "channel":
		return bad(21211, "Invalid 'To' Phone Number")
	case f == "from":
		return bad(21212, "Invalid 'From' Phone Number")
	case f == "body" && strings.Contains(fe.Reason, "segments"):
		return bad(21617, "The concatenated message body exceeds the 1600 character limit")
	case f == "body":
		return bad(21602, "Message body is required")
	case strings.HasPrefix(f, "media_urls"):
		return bad(21620, "Invalid media URL(s)")
	case f == "send_at":
		return bad(35114, "Scheduling does not support this timestamp")
	case f == "validity_period":
		return bad(21624, "Invalid validity period value")
	case f == "status_callback":
		return bad(21609, "Invalid StatusCallback")
	}
	return bad(21100, "Invalid parameter "+fe.Field)
}

// plainTwilioURL is plainURL with Twilio's 404 (for a path that is not text).
func plainTwilioURL(h http.Handler) http.Handler {
	return plainURLWith(h, twilioErr)
}

// requireTwilio authenticates a request of the Twilio-shaped API and checks that the Account
// SID in its path is the caller's (another one is not found, whoever it belongs to).
func (a *API) requireTwilio(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, acct, err := auth.TwilioLogin(r.Context(), a.Store, r)
		if errors.Is(err, auth.ErrNoCredentials) {
			err = errTwilioAuth
		}
		if err != nil {
			twilioErr(w, r, err)
			return
		}
		if strings.TrimSuffix(r.PathValue("account"), ".json") != acct.AccountSID {
			twilioErr(w, r, errTwilioNotFound)
			return
		}
		ctx := auth.WithClient(r.Context(), c)
		h.ServeHTTP(w, r.WithContext(withTwilioAccount(ctx, acct)))
	})
}

// twilioTime is Twilio's date format (RFC 2822), or nil for the zero time.
func twilioTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC1123Z)
	return &s
}

// twilioMessage is a message in Twilio's shape.
type twilioMessage struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         *string           `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         *string           `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                string            `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// messageIDOfSID is the message id of a Twilio-shaped SID (SM or MM); false for anything else.
func messageIDOfSID(sid string) (string, bool) {
	if len(sid) != 34 || (sid[:2] != "SM" && sid[:2] != "MM") {
		return "", false
	}
	return model.IDOfHex(model.PrefixMessage, sid[2:])
}

// twilioMessageOf shows m in Twilio's shape for the account.
func (a *API) twilioMessageOf(acct string, m model.Message) twilioMessage {
	sid := model.TwilioMessageSID(m)
	uri := twilioRoot + acct + "/Messages/" + sid
	out := twilioMessage{AccountSID: acct, APIVersion: twilioVersion, Body: m.Body,
		DateCreated: twilioTime(m.CreatedAt), DateUpdated: twilioTime(m.StatusAt),
		From: model.TwilioAddress(m.Channel, m.From), To: model.TwilioAddress(m.Channel, m.To),
		NumMedia: strconv.Itoa(len(m.Media)), NumSegments: strconv.Itoa(max(m.Segments, 1)),
		PriceUnit: a.PriceUnit, SID: sid, Status: model.TwilioStatus(m.Status), URI: uri + ".json",
		SubresourceURIs: map[string]string{"media": uri + "/Media.json"}}
	if out.DateUpdated == nil {
		out.DateUpdated = out.DateCreated
	}
	if m.ErrorCode != "" {
		code, msg := model.TwilioErrorCode(m.ErrorCode), m.ErrorMessage
		out.ErrorCode, out.ErrorMessage = &code, &msg
	}
	if m.Direction == model.Inbound {
		out.Direction, out.DateSent = "inbound", twilioTime(m.ReceivedAt)
		return out
	}
	out.Direction, out.DateSent = "outbound-api", twilioTime(m.SentAt)
	if outbound.IsOwnReply(m) {
		out.Direction = "outbound-reply" // Ibiki's own answers (HELP, auto-replies)
	}
	price := m.CostCents
	if m.Status == model.StatusFailed || m.Status == model.StatusCanceled {
		price = 0 // refunded
	}
	p := "-" + strconv.FormatFloat(float64(price)/100, 'f', 2, 64)
	if price == 0 {
		p = "0.00"
	}
	out.Price = &p
	return out
}

// numberOrAddress reads a Twilio address ("+1...", "whatsapp:+1...") for a filter.
func (a *API) numberOrAddress(v string) (string, model.Channel, error) {
	ch := model.Channel("")
	if rest, ok := strings.CutPrefix(v, "whatsapp:"); ok {
		v, ch = rest, model.ChannelWhatsApp
	}
	n, err := sms.NormalizeAddress(v, a.Region)
	return n, ch, err
}
