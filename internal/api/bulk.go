package api

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/campaign"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/template"
)

// bulkItemOut is one accepted item of a bulk send.
type bulkItemOut struct {
	Index     int                 `json:"index"`
	ID        string              `json:"id"`
	To        string              `json:"to"`
	From      string              `json:"from"`
	Status    model.MessageStatus `json:"status"`
	Segments  int                 `json:"segments"`
	Encoding  string              `json:"encoding"`
	CostCents int64               `json:"cost_cents"`
}

// itemError is one refused item: the error shape plus its index.
type itemError struct {
	Index int `json:"index"`
	*respond.Error
}

type bulkOut struct {
	Accepted  int           `json:"accepted"`
	Rejected  int           `json:"rejected"`
	CostCents int64         `json:"cost_cents"`
	Messages  []bulkItemOut `json:"messages"`
	Errors    []itemError   `json:"errors"`
}

func bulkJSON(res outbound.BulkResult) bulkOut {
	out := bulkOut{Accepted: len(res.Queued), Rejected: len(res.Errors), CostCents: res.CostCents,
		Messages: make([]bulkItemOut, len(res.Queued)), Errors: make([]itemError, len(res.Errors))}
	for i, q := range res.Queued {
		m := q.Message
		out.Messages[i] = bulkItemOut{Index: q.Index, ID: m.ID, To: m.To, From: m.From, Status: m.Status,
			Segments: m.Segments, Encoding: m.Encoding, CostCents: m.CostCents}
	}
	for i, e := range res.Errors {
		out.Errors[i] = itemError{Index: e.Index, Error: respond.Map(e.Err)}
	}
	slices.SortFunc(out.Errors, func(a, b itemError) int { return cmp.Compare(a.Index, b.Index) })
	return out
}

// bulkIn is the body of a bulk send: a list of messages, or a template and its contacts.
type bulkIn struct {
	Messages []struct {
		To   string `json:"to"`
		Body string `json:"body"`
		From string `json:"from"`
	} `json:"messages"`
	Template *string          `json:"template"`
	Contacts []map[string]any `json:"contacts"`
	From     string           `json:"from"`
	// Campaign, with a template and contacts, makes the bulk send a campaign (paced,
	// pausable, with results) instead of messages queued at once.
	Campaign *struct {
		Name       string `json:"name"`
		ScheduleAt string `json:"schedule_at"`
		Draft      bool   `json:"draft"`
		QuietHours bool   `json:"quiet_hours"`
	} `json:"campaign"`
}

// requests turns the body into one request per item; items that cannot even be rendered are
// refused by index.
func (in bulkIn) requests(limit int) ([]outbound.Request, []outbound.ItemError, error) {
	switch {
	case in.Messages != nil && (in.Template != nil || in.Contacts != nil):
		return nil, nil, respond.Invalid("messages", "send either messages or a template with contacts, not both")
	case in.Messages == nil && in.Template == nil:
		return nil, nil, respond.Missing("messages")
	case in.Template != nil && strings.TrimSpace(*in.Template) == "":
		return nil, nil, respond.Invalid("template", "template must not be blank")
	case in.Template != nil && len(in.Contacts) == 0:
		return nil, nil, respond.Missing("contacts")
	}
	n := max(len(in.Messages), len(in.Contacts))
	if n == 0 || n > limit {
		return nil, nil, respond.Invalid("messages", fmt.Sprintf("a bulk send takes 1 to %d items", limit))
	}
	reqs := make([]outbound.Request, n)
	if in.Template == nil {
		for i, m := range in.Messages {
			reqs[i] = outbound.Request{To: m.To, Body: m.Body, From: cmp.Or(m.From, in.From)}
		}
		return reqs, nil, nil
	}
	tmpl := template.Parse(*in.Template)
	var errs []outbound.ItemError
	for i, c := range in.Contacts {
		fields := make(map[string]string, len(c))
		var bad error
		for k, v := range c {
			switch v := v.(type) {
			case nil:
			case string:
				fields[template.Key(k)] = v
			case float64:
				fields[template.Key(k)] = strconv.FormatFloat(v, 'f', -1, 64) // 1234567, not 1.234567e+06
			case bool:
				fields[template.Key(k)] = strconv.FormatBool(v)
			default:
				bad = respond.Invalid("contacts", "field "+k+" must be text or a number")
			}
		}
		if bad != nil {
			errs = append(errs, outbound.ItemError{Index: i, Err: bad})
			continue
		}
		body, err := tmpl.Render(fields)
		if err != nil {
			errs = append(errs, outbound.ItemError{Index: i, Err: respond.Invalid("template", err.Error())})
			continue
		}
		reqs[i] = outbound.Request{To: fields["phone"], Body: body, From: in.From}
		if reqs[i].To == "" {
			errs = append(errs, outbound.ItemError{Index: i, Err: respond.Missing("phone")})
		}
	}
	return reqs, errs, nil
}

// createBulk: POST /api/v1/messages/bulk → 202 with each item's message or error, by index.
// When no item is accepted the answer is 422 no_valid_messages with the same report.
func (a *API) createBulk(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.Client(r.Context())
	a.idempotent(w, r, c.ID, func(body []byte, save saveFunc) (int, any, error) {
		var in bulkIn
		if err := decodeBytes(r, body, &in); err != nil {
			return 0, nil, err
		}
		if in.Campaign != nil {
			return a.bulkCampaign(r, c, in, body)
		}
		reqs, refused, err := in.requests(a.BulkMaxItems)
		if err != nil {
			return 0, nil, err
		}
		// Items refused while rendering go as blank requests to be skipped by index.
		skip := map[int]bool{}
		for _, e := range refused {
			skip[e.Index] = true
		}
		var keep []outbound.Request
		var keepIndex []int
		for i, req := range reqs {
			if !skip[i] {
				keep, keepIndex = append(keep, req), append(keepIndex, i)
			}
		}
		// remap gives the items their indexes in the request (it copies: the service's result
		// is remapped once for the stored answer and once for this one).
		remap := func(res outbound.BulkResult) outbound.BulkResult {
			out := outbound.BulkResult{CostCents: res.CostCents, Queued: slices.Clone(res.Queued),
				Errors: make([]outbound.ItemError, 0, len(res.Errors)+len(refused))}
			for i := range out.Queued {
				out.Queued[i].Index = keepIndex[out.Queued[i].Index]
			}
			for _, e := range res.Errors {
				out.Errors = append(out.Errors, outbound.ItemError{Index: keepIndex[e.Index], Err: e.Err})
			}
			out.Errors = append(out.Errors, refused...)
			return out
		}
		var saveTx func(*store.Tx, outbound.BulkResult) error
		if save != nil {
			saveTx = func(tx *store.Tx, res outbound.BulkResult) error {
				if len(res.Queued) == 0 {
					return nil
				}
				return save(tx, http.StatusAccepted, bulkJSON(remap(res)))
			}
		}
		res, err := a.Outbound.SendBulk(r.Context(), c, keep, saveTx)
		if err != nil {
			return 0, nil, err
		}
		out := bulkJSON(remap(res))
		if out.Accepted == 0 {
			return http.StatusUnprocessableEntity, struct {
				Error *respond.Error `json:"error"`
				bulkOut
			}{&respond.Error{Code: "no_valid_messages", Message: "no item of the bulk send was accepted; see errors"}, out}, nil
		}
		return http.StatusAccepted, out, nil
	})
}

// bulkCampaign makes a templated bulk send a campaign: 201 with the campaign, as
// POST /api/v1/campaigns answers.
func (a *API) bulkCampaign(r *http.Request, c model.Client, in bulkIn, body []byte) (int, any, error) {
	switch {
	case in.Template == nil || in.Messages != nil:
		return 0, nil, respond.Invalid("campaign", "a campaign needs a template and contacts")
	case len(in.Contacts) == 0:
		return 0, nil, respond.Missing("contacts")
	case len(in.Contacts) > a.BulkMaxItems:
		return 0, nil, respond.Invalid("contacts", fmt.Sprintf("a bulk send takes 1 to %d items", a.BulkMaxItems))
	}
	list := make([]map[string]string, len(in.Contacts))
	for i, ct := range in.Contacts {
		list[i] = map[string]string{}
		for k, v := range ct {
			switch v := v.(type) {
			case string:
				list[i][k] = v
			case float64:
				list[i][k] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				list[i][k] = strconv.FormatBool(v)
			}
		}
	}
	at, err := parseSchedule(in.Campaign.ScheduleAt)
	if err != nil {
		return 0, nil, err
	}
	input := campaign.Input{Name: in.Campaign.Name, Message: *in.Template, List: list,
		ScheduleAt: at, Draft: in.Campaign.Draft, QuietHours: in.Campaign.QuietHours}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		// The campaign's id is kept with the key as it is created: a retry finds it (the
		// wrapper replays it) instead of making another.
		input.OnCreate = a.campaignKey(r, c.ID, key, requestHash(r, body))
	}
	cp, _, err := a.Campaigns.Create(r.Context(), c, input)
	if err != nil {
		return 0, nil, campaignErr(err)
	}
	out, err := a.campaignJSON(r, cp, true)
	return http.StatusCreated, out, err
}
