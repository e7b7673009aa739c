package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/campaign"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
)

type campaignOut struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Message    string               `json:"message"`
	Status     model.CampaignStatus `json:"status"`
	ScheduleAt *string              `json:"schedule_at"`
	QuietHours bool                 `json:"quiet_hours"`
	Total      int64                `json:"total"`
	Invalid    int64                `json:"invalid"`
	CostCents  int64                `json:"cost_cents"`
	Queued     int64                `json:"queued"`
	Sent       int64                `json:"sent"`
	Delivered  int64                `json:"delivered"`
	Failed     int64                `json:"failed"`
	OptedOut   int64                `json:"opted_out"`
	Replied    *int64               `json:"replied"`
	Cancelled  int64                `json:"cancelled"`
	CreatedAt  string               `json:"created_at"`
	StartedAt  *string              `json:"started_at"`
	FinishedAt *string              `json:"finished_at"`
	Report     json.RawMessage      `json:"report,omitempty"`
	Preview    []recipientOut       `json:"preview,omitempty"`
	// Encodings and Segments sum up every recipient's message in the create answer: how many
	// go as GSM-7 and as UCS-2 (70 characters a segment), and the segments to be sent.
	Encodings map[string]int64 `json:"encodings,omitempty"`
	Segments  int64            `json:"segments,omitempty"`
}

type recipientOut struct {
	Line      int                   `json:"line"`
	Phone     string                `json:"phone"`
	Body      string                `json:"body"`
	Segments  int                   `json:"segments"`
	Encoding  string                `json:"encoding"`
	NonGSM    []string              `json:"non_gsm_characters,omitempty"`
	CostCents int64                 `json:"cost_cents"`
	Status    model.RecipientStatus `json:"status"`
	MessageID *string               `json:"message_id"`
	Message   *model.MessageStatus  `json:"message_status"`
	ErrorCode *string               `json:"error_code"`
	Replied   bool                  `json:"replied"`
	Error     string                `json:"error,omitempty"`
}

func recipientJSON(rc model.Recipient) recipientOut {
	out := recipientOut{Line: rc.Line, Phone: rc.Phone, Body: rc.Body, Segments: rc.Segments, Encoding: rc.Encoding,
		CostCents: rc.CostCents, Status: rc.Status, Error: rc.Error}
	if rc.Encoding == string(sms.UCS2) {
		out.NonGSM = sms.Segments(rc.Body).NonGSM
	}
	if rc.MessageID != "" {
		out.MessageID, out.Message = &rc.MessageID, &rc.MessageStatus
	}
	if rc.ErrorCode != "" {
		out.ErrorCode = &rc.ErrorCode
	}
	out.Replied = rc.Replied
	return out
}

// campaignJSON describes a campaign with its counts. The replied count reads every recipient's
// conversation, so lists leave it out (null): it is given for one campaign at a time.
func (a *API) campaignJSON(r *http.Request, cp model.Campaign, withReplied bool) (campaignOut, error) {
	out := campaignOut{ID: cp.ID, Name: cp.Name, Message: cp.Message, Status: cp.Status, ScheduleAt: timeOrNil(cp.ScheduleAt),
		QuietHours: cp.QuietHours,
		Total:      cp.Total, Invalid: cp.Invalid, CostCents: cp.CostCents, CreatedAt: formatTime(cp.CreatedAt),
		StartedAt: timeOrNil(cp.StartedAt), FinishedAt: timeOrNil(cp.FinishedAt)}
	if cp.Report != "" {
		out.Report = json.RawMessage(cp.Report)
	}
	p, err := a.Campaigns.Progress(r.Context(), cp, a.CampaignReplyWindow, withReplied)
	out.Queued, out.Sent, out.Delivered, out.Failed = p.Queued, p.Sent, p.Delivered, p.Failed
	out.OptedOut, out.Cancelled, out.Replied = p.OptedOut, p.Cancelled, p.Replied
	return out, err
}

// createCampaign: POST /api/v1/campaigns. Multipart (a CSV `file`, `message`, `name`,
// optional `schedule_at`, `mapping`, `draft`) or JSON ({"message","name","tag","schedule_at",
// "draft"}: the client's contacts with the tag). A draft is the preview: it is stored with its
// recipients rendered and priced, and starts only on POST /api/v1/campaigns/{id}/start.
func (a *API) createCampaign(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.Client(r.Context())
	key, err := checkKey(r, ibikiShape.keyFrom)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	in, hash, cleanup, err := a.campaignInput(r)
	defer cleanup()
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	k := keyed{owner: c.ID, key: key, hash: hash}
	r, done := a.begin(w, r, ibikiShape, k, campaignAnswer)
	if done {
		return
	}
	cp, _, err := a.Campaigns.Create(r.Context(), c, in)
	if a.lostRace(w, r, ibikiShape, k, err) {
		return // a concurrent request with the same key made it
	}
	if cp.ID == "" {
		respond.Err(w, r, campaignErr(err))
		return
	}
	out, cerr := a.campaignJSON(r, cp, true)
	if cerr != nil {
		respond.Err(w, r, cerr)
		return
	}
	if rs, perr := a.Store.Recipients(r.Context(), cp.ID, "", 0, 5, a.CampaignReplyWindow); perr == nil {
		for _, rc := range rs {
			out.Preview = append(out.Preview, recipientJSON(rc))
		}
	}
	if enc, segs, perr := a.Store.RecipientEncodings(r.Context(), cp.ID); perr == nil && len(enc) > 0 {
		out.Encodings, out.Segments = enc, segs
	}
	if err != nil {
		// Stored, but not started (no valid recipient, not enough credits): say why, with the
		// campaign so that it can be fixed or started later.
		e := respond.Map(campaignErr(err))
		respond.JSON(w, e.Status, map[string]any{"error": e, "campaign": out})
		return
	}
	respond.JSON(w, http.StatusCreated, out)
}

func campaignErr(err error) error {
	switch {
	case errors.Is(err, campaign.ErrNoRecipients):
		return &respond.Error{Status: http.StatusUnprocessableEntity, Code: "no_valid_recipients", Message: err.Error()}
	case errors.Is(err, campaign.ErrNotAllowed):
		return &respond.Error{Status: http.StatusConflict, Code: "campaign_status", Message: err.Error()}
	}
	return err
}

// campaignInput reads the create request; the CSV is spooled to a temporary file (the other
// fields may come after it), removed by cleanup. hash identifies the request for an
// Idempotency-Key: for a multipart body, its fields and the file's bytes, not the boundary
// (which clients change on every try).
func (a *API) campaignInput(r *http.Request) (in campaign.Input, hash string, cleanup func(), err error) {
	in, parts, cleanup, err := a.readCampaignInput(r)
	sort.Strings(parts)
	return in, requestHash(r, []byte(strings.Join(parts, "\n"))), cleanup, err
}

// campaignIn is the JSON body of POST /api/v1/campaigns (a campaign to the contacts with a tag).
type campaignIn struct {
	Name       string `json:"name"`
	Message    string `json:"message"`
	Tag        string `json:"tag"`
	ScheduleAt string `json:"schedule_at"`
	Draft      bool   `json:"draft"`
	QuietHours bool   `json:"quiet_hours"`
}

func (a *API) readCampaignInput(r *http.Request) (in campaign.Input, parts []string, cleanup func(), err error) {
	cleanup = func() {}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return in, nil, cleanup, uploadErr(err)
		}
		parts = []string{string(raw)}
		var body campaignIn
		if err := respond.DecodeBytes(raw, &body); err != nil {
			return in, parts, cleanup, err
		}
		in = campaign.Input{Name: body.Name, Message: body.Message, Tag: body.Tag, Draft: body.Draft, QuietHours: body.QuietHours}
		if in.Tag == "" {
			return in, parts, cleanup, respond.Missing("tag")
		}
		in.ScheduleAt, err = parseSchedule(body.ScheduleAt)
		return in, parts, cleanup, err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return in, parts, cleanup, respond.Invalid("file", "the multipart body cannot be read")
	}
	var file *os.File
	cleanup = func() {
		if file != nil {
			file.Close()
			os.Remove(file.Name())
		}
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return in, parts, cleanup, uploadErr(err)
		}
		if part.FormName() == "file" {
			if file != nil {
				return in, parts, cleanup, respond.Invalid("file", "send one file")
			}
			fileHash := sha256.New()
			if file, err = spool(io.TeeReader(part, fileHash)); err != nil {
				return in, parts, cleanup, err
			}
			parts = append(parts, "file:"+hex.EncodeToString(fileHash.Sum(nil)))
			in.File = file
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFormField))
		if err != nil {
			return in, parts, cleanup, uploadErr(err)
		}
		v := strings.TrimSpace(string(b))
		if err := formText(part.FormName(), v); err != nil {
			return in, parts, cleanup, err
		}
		parts = append(parts, part.FormName()+"="+v)
		switch part.FormName() {
		case "message":
			in.Message = v
		case "name":
			in.Name = v
		case "schedule_at":
			if in.ScheduleAt, err = parseSchedule(v); err != nil {
				return in, parts, cleanup, err
			}
		case "draft", "quiet_hours":
			b, err := strconv.ParseBool(v)
			if err != nil && v != "" {
				return in, parts, cleanup, respond.Invalid(part.FormName(), part.FormName()+" must be true or false")
			}
			if part.FormName() == "draft" {
				in.Draft = b
			} else {
				in.QuietHours = b
			}
		case "mapping":
			if v != "" && json.Unmarshal([]byte(v), &in.Mapping) != nil {
				return in, parts, cleanup, respond.Invalid("mapping", `mapping must be a JSON object of strings, e.g. {"phone":"Mobile"}`)
			}
			if err := mappingText(in.Mapping); err != nil {
				return in, parts, cleanup, err
			}
		default:
			return in, parts, cleanup, respond.Invalid(part.FormName(), "unknown field "+part.FormName())
		}
	}
	if file == nil {
		return in, parts, cleanup, respond.Missing("file")
	}
	return in, parts, cleanup, nil
}

// answerCampaign answers one of the owner's campaigns as it is now.
func (a *API) answerCampaign(w http.ResponseWriter, r *http.Request, owner, id string, status int) {
	cp, err := a.Store.Campaign(r.Context(), owner, id)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	a.writeCampaign(w, r, cp, status)
}

// writeCampaign answers a campaign with its counts.
func (a *API) writeCampaign(w http.ResponseWriter, r *http.Request, cp model.Campaign, status int) {
	out, err := a.campaignJSON(r, cp, true)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, status, out)
}

func parseSchedule(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, respond.Invalid("schedule_at", "schedule_at must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
	}
	return t.UTC(), nil
}

// listCampaigns: GET /api/v1/campaigns (newest first).
func (a *API) listCampaigns(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	cs, err := a.Store.Campaigns(r.Context(), clientID(r.Context()), cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]campaignOut, len(cs))
	last := ""
	for i, cp := range cs {
		if out[i], err = a.campaignJSON(r, cp, false); err != nil {
			respond.Err(w, r, err)
			return
		}
		out[i].Report, last = nil, cp.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(cs), limit, last)})
}

// getCampaign: GET /api/v1/campaigns/{id}.
func (a *API) getCampaign(w http.ResponseWriter, r *http.Request) {
	a.answerCampaign(w, r, clientID(r.Context()), r.PathValue("id"), http.StatusOK)
}

// campaignActionFunc is one of the campaign service's moves (start, pause, resume, cancel).
type campaignActionFunc func(ctx context.Context, c model.Client, id string) (model.Campaign, error)

func (a *API) campaignAction(act func(*campaign.Service) campaignActionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.Client(r.Context())
		cp, err := act(a.Campaigns)(r.Context(), c, r.PathValue("id"))
		if err != nil {
			respond.Err(w, r, campaignErr(err))
			return
		}
		a.writeCampaign(w, r, cp, http.StatusOK)
	}
}

// listRecipients: GET /api/v1/campaigns/{id}/recipients?status= (pending, queued, opted_out,
// cancelled, or a message status: sent, delivered, failed...).
func (a *API) listRecipients(w http.ResponseWriter, r *http.Request) {
	cp, err := a.Store.Campaign(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	after := int64(0)
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			respond.Err(w, r, respond.Invalid("cursor", "cursor is not one this API gave out"))
			return
		}
	}
	rs, err := a.Store.Recipients(r.Context(), cp.ID, r.URL.Query().Get("status"), after, limit, a.CampaignReplyWindow)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]recipientOut, len(rs))
	last := ""
	for i, rc := range rs {
		out[i], last = recipientJSON(rc), strconv.FormatInt(rc.Seq, 10)
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(rs), limit, last)})
}

// campaignResults: GET /api/v1/campaigns/{id}/results: every recipient's outcome as CSV, in list
// order (line, phone, status, message status, error, replied, message), safe against formula
// injection like every export.
func (a *API) campaignResults(w http.ResponseWriter, r *http.Request) {
	cp, err := a.Store.Campaign(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	cw := newCSV(w, cp.ID+"-results.csv")
	_ = cw.row("line", "phone", "status", "message_status", "error_code", "error", "replied", "message_id", "body")
	var after int64
	for {
		rs, err := a.Store.Recipients(r.Context(), cp.ID, "", after, 1000, a.CampaignReplyWindow)
		if err != nil {
			cw.Flush()
			respond.Log(r, "campaign results cut short", err)
			return
		}
		for _, rc := range rs {
			_ = cw.row(strconv.Itoa(rc.Line), rc.Phone, string(rc.Status), string(rc.MessageStatus), rc.ErrorCode, rc.Error,
				strconv.FormatBool(rc.Replied), rc.MessageID, rc.Body)
			after = rc.Seq
		}
		if len(rs) < 1000 {
			cw.Flush()
			return
		}
	}
}
