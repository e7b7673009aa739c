package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/text"
)

type twilioAccountKey struct{}

func withTwilioAccount(ctx context.Context, a model.TwilioAccount) context.Context {
	return context.WithValue(ctx, twilioAccountKey{}, a)
}

// twilioAccountOf is the authenticated Account SID of a Twilio-shaped request.
func twilioAccountOf(ctx context.Context) string {
	a, _ := ctx.Value(twilioAccountKey{}).(model.TwilioAccount)
	return a.AccountSID
}

// twilioShape is how the Twilio-shaped API answers: Twilio's errors; the idempotency key is
// Idempotency-Key or, as Twilio names it, I-Twilio-Idempotency-Token.
var twilioShape = shape{err: twilioErr, keyFrom: []string{"Idempotency-Key", "I-Twilio-Idempotency-Token"}}

// twilioForm reads a form-encoded body (Twilio's requests are forms): every value must be text.
func twilioForm(r *http.Request, body []byte) (url.Values, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/x-www-form-urlencoded" {
			return nil, newTwilioError(http.StatusUnsupportedMediaType, 20415,
				"The body must be form-encoded (application/x-www-form-urlencoded), as Twilio's API takes it")
		}
	}
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, newTwilioError(http.StatusBadRequest, 20400, "The body is not a well-formed form: "+err.Error())
	}
	if k, flaw := text.Field(f); flaw != text.OK {
		return nil, newTwilioError(http.StatusBadRequest, 20400, "Parameter "+k+" must be text: it holds "+flaw.String())
	}
	return f, nil
}

// unsupportedSendParams are parameters of Twilio's create that change what is sent and that
// Ibiki does not carry out: a request with one is refused rather than sent otherwise.
var unsupportedSendParams = []string{"ContentSid", "ContentVariables", "ApplicationSid", "PersistentAction", "SendAsMms", "FallbackFrom"}

// twilioSendRequest reads the form of Twilio's create into a send.
func (a *API) twilioSendRequest(f url.Values) (outbound.Request, error) {
	bad := func(code int, msg string) error { return newTwilioError(http.StatusBadRequest, code, msg) }
	for _, p := range unsupportedSendParams {
		if f.Has(p) {
			return outbound.Request{}, bad(20400, p+" is not supported by Ibiki's Twilio-compatible API (see docs/twilio-api.md)")
		}
	}
	req := outbound.Request{To: strings.TrimSpace(f.Get("To")), Body: f.Get("Body"), From: strings.TrimSpace(f.Get("From")),
		Priority: model.PriorityNormal, MediaURLs: f["MediaUrl"], StatusCallback: f.Get("StatusCallback"),
		DLTMatch: true} // Twilio's API names no DLT template: a client that requires DLT has its body matched to one
	if req.To == "" {
		return req, bad(21604, "A 'To' phone number is required")
	}
	if strings.TrimSpace(req.Body) == "" && len(req.MediaURLs) == 0 {
		return req, bad(21602, "Message body is required")
	}
	if rest, ok := strings.CutPrefix(req.From, "whatsapp:"); ok {
		if !strings.HasPrefix(req.To, "whatsapp:") {
			return req, bad(21212, "Invalid 'From' Phone Number: a whatsapp: sender needs a whatsapp: recipient")
		}
		req.From = rest
	}
	if ms := f.Get("MessagingServiceSid"); ms != "" && !model.ValidTwilioSID(ms, "MG") {
		return req, bad(21701, "The Messaging Service Sid "+ms+" is invalid")
	}
	if v := f.Get("ValidityPeriod"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > int(outbound.MaxValidFor/time.Second) {
			return req, bad(21624, "Invalid validity period value: ValidityPeriod must be a whole number of seconds from 1 to 36000")
		}
		req.ValidFor = time.Duration(n) * time.Second
	}
	st, at := f.Get("ScheduleType"), f.Get("SendAt")
	switch {
	case st == "" && at == "":
	case st != "fixed":
		return req, bad(35111, "ScheduleType must be fixed, with SendAt")
	case at == "":
		return req, bad(35115, "SendAt is required with ScheduleType=fixed")
	default:
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return req, bad(35114, "Scheduling does not support this timestamp: SendAt must be ISO 8601 (2026-12-31T23:59:00Z)")
		}
		req.SendAt = t
	}
	return req, nil
}

// twilioCreateMessage: POST /2010-04-01/Accounts/{AccountSid}/Messages.json → 201, the same
// send as POST /api/v1/messages.
func (a *API) twilioCreateMessage(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.Client(r.Context())
	acct := twilioAccountOf(r.Context())
	kept := answerWith(http.StatusCreated, func(m model.Message) twilioMessage { return a.twilioMessageOf(acct, m) })
	a.idempotentAs(w, r, twilioShape, c.ID, kept, func(r *http.Request, body []byte) (int, any, error) {
		f, err := twilioForm(r, body)
		if err != nil {
			return 0, nil, err
		}
		req, err := a.twilioSendRequest(f)
		if err != nil {
			return 0, nil, err
		}
		m, err := a.Outbound.Send(r.Context(), c, req)
		return http.StatusCreated, a.twilioMessageOf(acct, m), err
	})
}

// twilioMessageOfPath reads the message a path names (Messages/{sid}.json) for the caller.
func (a *API) twilioMessageOfPath(r *http.Request, suffix string) (string, error) {
	sid, ok := strings.CutSuffix(r.PathValue("sid"), suffix)
	if !ok {
		return "", errTwilioNotFound
	}
	id, ok := messageIDOfSID(sid)
	if !ok {
		return "", errTwilioNotFound
	}
	return id, nil
}

// twilioFetchMessage: GET …/Messages/{Sid}.json.
func (a *API) twilioFetchMessage(w http.ResponseWriter, r *http.Request) {
	id, err := a.twilioMessageOfPath(r, ".json")
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	m, err := a.Store.Message(r.Context(), clientID(r.Context()), id)
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, a.twilioMessageOf(twilioAccountOf(r.Context()), m))
}

// twilioUpdateMessage: POST …/Messages/{Sid}.json with Status=canceled (a scheduled message) or
// Body= (empty: redacts the text of a message that is no longer on its way out).
func (a *API) twilioUpdateMessage(w http.ResponseWriter, r *http.Request) {
	id, err := a.twilioMessageOfPath(r, ".json")
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	f, err := twilioForm(r, body)
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	c := clientID(r.Context())
	var m model.Message
	switch {
	case f.Has("Status"):
		if f.Get("Status") != "canceled" {
			twilioErr(w, r, newTwilioError(http.StatusBadRequest, 20400, "Status can only be set to canceled"))
			return
		}
		m, err = a.Outbound.Cancel(r.Context(), c, id)
	case f.Has("Body"):
		if f.Get("Body") != "" {
			twilioErr(w, r, newTwilioError(http.StatusBadRequest, 20400, "Body can only be set to an empty string (to redact the message)"))
			return
		}
		m, err = a.Outbound.Redact(r.Context(), c, id)
	default:
		twilioErr(w, r, newTwilioError(http.StatusBadRequest, 20400, "Status=canceled or Body= (empty) is required"))
		return
	}
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, a.twilioMessageOf(twilioAccountOf(r.Context()), m))
}

// twilioDeleteMessage: DELETE …/Messages/{Sid}.json → 204.
func (a *API) twilioDeleteMessage(w http.ResponseWriter, r *http.Request) {
	id, err := a.twilioMessageOfPath(r, ".json")
	if err == nil {
		err = a.Outbound.Delete(r.Context(), clientID(r.Context()), id)
	}
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// twilioPage is the paging part of a Twilio list answer.
type twilioPage struct {
	FirstPageURI    string  `json:"first_page_uri"`
	NextPageURI     *string `json:"next_page_uri"`
	PreviousPageURI *string `json:"previous_page_uri"`
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	URI             string  `json:"uri"`
	Start           int     `json:"start"`
	End             int     `json:"end"`
}

// Twilio's page size bounds.
const (
	twilioDefaultPageSize = 50
	twilioMaxPageSize     = 1000
)

// Page tokens: "PA" + the SID of the last message of a page (the next page is older), "PB" + the
// SID of the first (the previous page is newer).
const (
	tokenAfter  = "PA"
	tokenBefore = "PB"
)

// twilioListMessages: GET …/Messages.json?To=&From=&DateSent=&DateSent<=&DateSent>=&PageSize=&Page=&PageToken=
// newest first.
func (a *API) twilioListMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := a.twilioFilter(q)
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	size, page, p, err := twilioPaging(q)
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	p.Limit = size + 1 // one more tells whether a next page exists
	ms, err := a.Store.ClientMessagesPage(r.Context(), clientID(r.Context()), f, p)
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	more := len(ms) > size
	if p.After != "" {
		// The page before: the extra message, if any, is the newest; the next page exists.
		if more {
			ms = ms[1:]
		}
		more = true
	} else if more {
		ms = ms[:size]
	}
	acct := twilioAccountOf(r.Context())
	out := make([]twilioMessage, len(ms))
	for i, m := range ms {
		out[i] = a.twilioMessageOf(acct, m)
	}
	base := url.Values{}
	for _, k := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
		if v := q.Get(k); v != "" {
			base.Set(k, v)
		}
	}
	uri := func(page int, token string) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		v.Set("PageSize", strconv.Itoa(size))
		v.Set("Page", strconv.Itoa(page))
		if token != "" {
			v.Set("PageToken", token)
		}
		return r.URL.Path + "?" + v.Encode()
	}
	pg := twilioPage{FirstPageURI: uri(0, ""), Page: page, PageSize: size, URI: uri(page, q.Get("PageToken")),
		Start: page * size, End: page*size + max(len(ms)-1, 0)}
	if more && len(ms) > 0 {
		next := uri(page+1, tokenAfter+out[len(out)-1].SID)
		pg.NextPageURI = &next
	}
	if page > 0 && len(ms) > 0 {
		prev := uri(page-1, tokenBefore+out[0].SID)
		pg.PreviousPageURI = &prev
	}
	respond.JSON(w, http.StatusOK, struct {
		Messages []twilioMessage `json:"messages"`
		twilioPage
	}{out, pg})
}

// twilioPaging reads PageSize, Page and PageToken.
func twilioPaging(q url.Values) (size, page int, p store.MessagePage, err error) {
	size = twilioDefaultPageSize
	if v := q.Get("PageSize"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > twilioMaxPageSize {
			return 0, 0, p, newTwilioError(http.StatusBadRequest, 20400, fmt.Sprintf("PageSize must be a whole number from 1 to %d", twilioMaxPageSize))
		}
	}
	if v := q.Get("Page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 || page > 1_000_000 {
			return 0, 0, p, newTwilioError(http.StatusBadRequest, 20400, "Page must be a whole number from 0")
		}
	}
	switch tok := q.Get("PageToken"); {
	case tok == "":
		p.Offset = page * size
	case len(tok) == 36 && (tok[:2] == tokenAfter || tok[:2] == tokenBefore):
		id, ok := messageIDOfSID(tok[2:])
		if !ok {
			return 0, 0, p, newTwilioError(http.StatusBadRequest, 20400, "PageToken is not one this API gave out")
		}
		if tok[:2] == tokenAfter {
			p.Before = id
		} else {
			p.After = id
		}
	default:
		return 0, 0, p, newTwilioError(http.StatusBadRequest, 20400, "PageToken is not one this API gave out")
	}
	return size, page, p, nil
}

// twilioFilter reads the list's filters: To, From, and DateSent as a day (YYYY-MM-DD) or an
// instant (RFC 3339); "DateSent<" is on or before, "DateSent>" on or after.
func (a *API) twilioFilter(q url.Values) (store.MessageFilter, error) {
	var f store.MessageFilter
	for _, k := range []string{"To", "From"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		n, ch, err := a.numberOrAddress(v)
		if err != nil {
			code := 21211
			if k == "From" {
				code = 21212
			}
			return f, newTwilioError(http.StatusBadRequest, code, "Invalid '"+k+"' Phone Number: "+err.Error())
		}
		if k == "To" {
			f.To = n
		} else {
			f.From = n
		}
		if ch != "" {
			f.Channel = ch
		}
	}
	for _, k := range []string{"DateSent", "DateSent<", "DateSent>"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		from, until, day, err := twilioDate(v)
		if err != nil {
			return f, newTwilioError(http.StatusBadRequest, 20400, k+" must be a date (YYYY-MM-DD) or a time (RFC 3339)")
		}
		switch {
		case k == "DateSent" && day:
			f.SentFrom, f.SentUntil = from, until
		case k == "DateSent":
			f.SentFrom, f.SentUntil = from, from.Add(time.Millisecond)
		case k == "DateSent<":
			f.SentUntil = until
		default:
			f.SentFrom = from
		}
	}
	return f, nil
}

// twilioDate reads a date (the whole day: [from, until)) or an instant (from = the instant,
// until = just after it).
func twilioDate(v string) (from, until time.Time, day bool, err error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, t.AddDate(0, 0, 1), true, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, t, false, err
	}
	return t, t.Add(time.Millisecond), false, nil
}

// twilioMedia is one attachment in Twilio's Media list shape. Its uri is where the provider
// keeps the file (Ibiki keeps the address, not the file).
type twilioMedia struct {
	AccountSID  string  `json:"account_sid"`
	ContentType string  `json:"content_type"`
	DateCreated *string `json:"date_created"`
	DateUpdated *string `json:"date_updated"`
	ParentSID   string  `json:"parent_sid"`
	SID         string  `json:"sid"`
	URI         string  `json:"uri"`
}

// twilioListMedia: GET …/Messages/{Sid}/Media.json, the message's attachments (one page).
func (a *API) twilioListMedia(w http.ResponseWriter, r *http.Request) {
	id, err := a.twilioMessageOfPath(r, "")
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	m, err := a.Store.Message(r.Context(), clientID(r.Context()), id)
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	acct, parent := twilioAccountOf(r.Context()), model.TwilioMessageSID(m)
	list := make([]twilioMedia, len(m.Media))
	for i, md := range m.Media {
		sum := sha256.Sum256([]byte(m.ID + "/" + strconv.Itoa(i)))
		list[i] = twilioMedia{AccountSID: acct, ContentType: md.ContentType, DateCreated: twilioTime(m.CreatedAt),
			DateUpdated: twilioTime(m.CreatedAt), ParentSID: parent, SID: "ME" + hex.EncodeToString(sum[:16]), URI: md.URL}
	}
	self := r.URL.Path
	respond.JSON(w, http.StatusOK, struct {
		MediaList []twilioMedia `json:"media_list"`
		twilioPage
	}{list, twilioPage{FirstPageURI: self, Page: 0, PageSize: max(len(list), 1), URI: self, End: max(len(list)-1, 0)}})
}

// twilioAccount: GET /2010-04-01/Accounts/{AccountSid}.json.
func (a *API) twilioAccount(w http.ResponseWriter, r *http.Request) {
	sid, ok := strings.CutSuffix(r.PathValue("account"), ".json")
	if !ok {
		twilioErr(w, r, errTwilioNotFound)
		return
	}
	c, _ := auth.Client(r.Context())
	uri := twilioRoot + sid
	status := "active"
	if !c.Active {
		status = "suspended"
	}
	respond.JSON(w, http.StatusOK, map[string]any{
		"sid": sid, "owner_account_sid": sid, "friendly_name": c.Name, "status": status, "type": "Full",
		"date_created": twilioTime(c.CreatedAt), "date_updated": twilioTime(c.UpdatedAt), "auth_token": nil,
		"uri": uri + ".json", "subresource_uris": map[string]string{"messages": uri + "/Messages.json", "balance": uri + "/Balance.json"},
	})
}

// twilioBalance: GET …/Balance.json, the client's credits in price units.
func (a *API) twilioBalance(w http.ResponseWriter, r *http.Request) {
	b, err := a.Store.Balance(r.Context(), clientID(r.Context()))
	if err != nil {
		twilioErr(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"account_sid": twilioAccountOf(r.Context()),
		"balance": strconv.FormatFloat(float64(b)/100, 'f', 2, 64), "currency": a.PriceUnit})
}
