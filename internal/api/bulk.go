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

// bulkRefusedOut is the 422 of a bulk send that accepted no item: the error and the report.
type bulkRefusedOut struct {
	Error *respond.Error `json:"error"`
	bulkOut
}

// bulkIn is the body of a bulk send: a list of messages, or a template and its contacts.
type bulkIn struct {
	Messages []struct {
		To   string `json:"to"`
		Body string `json:"body"`
		From string `json:"from"`
		// DLTTemplateID: the item's DLT template (the request's dlt_template_id when absent).
		DLTTemplateID string `json:"dlt_template_id"`
	} `json:"messages"`
	Template *string          `json:"template"`
	Contacts []map[string]any `json:"contacts"`
	From     string           `json:"from"`
	// DLTTemplateID is the DLT template every item must match (an item's own wins).
	DLTTemplateID string `json:"dlt_template_id"`
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
// refused (Request.Refused), to be reported by their index.
func (in bulkIn) requests(limit int) ([]outbound.Request, error) {
	switch {
	case in.Messages != nil && (in.Template != nil || in.Contacts != nil):
		return nil, respond.Invalid("messages", "send either messages or a template with contacts, not both")
	case in.Messages == nil && in.Template == nil:
		return nil, respond.Missing("messages")
	case in.Template != nil && strings.TrimSpace(*in.Template) == "":
		return nil, respond.Invalid("template", "template must not be blank")
	case in.Template != nil && len(in.Contacts) == 0:
		return nil, respond.Missing("contacts")
	}
	n := max(len(in.Messages), len(in.Contacts))
	if n == 0 || n > limit {
		return nil, respond.Invalid("messages", fmt.Sprintf("a bulk send takes 1 to %d items", limit))
	}
	reqs := make([]outbound.Request, n)
	if in.Template == nil {
		for i, m := range in.Messages {
			reqs[i] = outbound.Request{To: m.To, Body: m.Body, From: cmp.Or(m.From, in.From), DLTTemplateID: cmp.Or(m.DLTTemplateID, in.DLTTemplateID)}
		}
		return reqs, nil
	}
	tmpl := template.Parse(*in.Template)
	for i, c := range in.Contacts {
		reqs[i] = renderItem(tmpl, c, in.From)
		reqs[i].DLTTemplateID = in.DLTTemplateID
	}
	return reqs, nil
}

// renderItem makes the request of one templated item, or its refusal.
func renderItem(tmpl *template.Template, c map[string]any, from string) outbound.Request {
	fields := make(map[string]string, len(c))
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
			return outbound.Request{Refused: respond.Invalid("contacts", "field "+k+" must be text or a number")}
		}
	}
	body, err := tmpl.Render(fields)
	if err != nil {
		return outbound.Request{Refused: respond.Invalid("template", err.Error())}
	}
	if fields["phone"] == "" {
		return outbound.Request{Refused: respond.Missing("phone")}
	}
	return outbound.Request{To: fields["phone"], Body: body, From: from}
}

// bulkAnswer keeps a bulk send's answer when it accepted an item, and a campaign's marker when
// the bulk send made a campaign.
func bulkAnswer(result any) (int, any) {
	switch res := result.(type) {
	case model.Campaign:
		return campaignAnswer(res)
	case outbound.BulkResult:
		if len(res.Queued) == 0 {
			return 0, nil // answered 422 no_valid_messages: not kept
		}
		return http.StatusAccepted, bulkJSON(res)
	}
	panic(fmt.Sprintf("api: a bulk send ended with a %T", result))
}

// createBulk: POST /api/v1/messages/bulk → 202 with each item's message or error, by index.
// When no item is accepted the answer is 422 no_valid_messages with the same report.
func (a *API) createBulk(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.Client(r.Context())
	a.idempotent(w, r, c.ID, bulkAnswer, func(r *http.Request, body []byte) (int, any, error) {
		var in bulkIn
		if err := respond.DecodeBytes(body, &in); err != nil {
			return 0, nil, err
		}
		if in.Campaign != nil {
			return a.bulkCampaign(r, c, in)
		}
		reqs, err := in.requests(a.BulkMaxItems)
		if err != nil {
			return 0, nil, err
		}
		res, err := a.Outbound.SendBulk(r.Context(), c, reqs)
		if err != nil {
			return 0, nil, err
		}
		out := bulkJSON(res)
		if out.Accepted == 0 {
			return http.StatusUnprocessableEntity, bulkRefusedOut{&respond.Error{Code: "no_valid_messages",
				Message: "no item of the bulk send was accepted; see errors"}, out}, nil
		}
		return http.StatusAccepted, out, nil
	})
}

// bulkCampaign makes a templated bulk send a campaign: 201 with the campaign, as
// POST /api/v1/campaigns answers.
func (a *API) bulkCampaign(r *http.Request, c model.Client, in bulkIn) (int, any, error) {
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
	cp, _, err := a.Campaigns.Create(r.Context(), c, input)
	if err != nil {
		return 0, nil, campaignErr(err)
	}
	out, err := a.campaignJSON(r, cp, true)
	return http.StatusCreated, out, err
}
