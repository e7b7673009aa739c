// Package campaign sends one message template to a list of recipients: from a CSV upload or
// the client's contacts with a tag. Creating a campaign renders and prices every recipient
// (invalid rows are reported with their lines); starting it reserves the whole cost; a feeder
// job then turns recipients into messages a window at a time, so pausing stops what is not
// sent and cancelling refunds exactly what was not sent.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/csvimport"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/template"
	"github.com/ibiki/ibiki/internal/text"
)

// JobKind is the feeder job: one per campaign while it sends.
const JobKind model.JobKind = "campaign"

// MaxListed bounds the invalid rows listed in a campaign's report (all are counted).
const MaxListed = 1000

// Service creates and runs campaigns.
type Service struct {
	Store    *store.Store
	Outbound *outbound.Service
	Region   string
	// Window is how many of a campaign's messages may wait in the send queue at once (default
	// 2,000): the rest stay recipients, which a pause or a cancel stops cheaply.
	Window int
	Clock  func() time.Time
	Log    *slog.Logger
}

// Input describes a new campaign. The recipients come from File (a CSV, read as contact imports
// are) or, without a file, from the client's contacts tagged Tag.
type Input struct {
	Name       string
	Message    string
	ScheduleAt time.Time
	Draft      bool
	File       io.Reader
	Mapping    map[string]string
	Tag        string
	// QuietHours holds sends inside the client's quiet hours, in each recipient's time zone.
	QuietHours bool
	// List, when set, is the recipients themselves (a bulk send made a campaign): each with
	// its fields, "phone" among them; Line is its index in the request plus one.
	List []map[string]string
}

// Invalid is a recipient refused at creation.
type Invalid struct {
	Line  int    `json:"line"`
	Phone string `json:"phone,omitempty"`
	Error string `json:"error"`
}

// Report is what creating a campaign found in its list.
type Report struct {
	Rows         int64     `json:"rows"`
	Duplicates   int64     `json:"duplicates"`
	InvalidCount int64     `json:"invalid_count"`
	Invalid      []Invalid `json:"invalid"`
}

// Errors of Create.
var (
	ErrNoRecipients = errors.New("the list has no valid recipient")
	ErrNotAllowed   = errors.New("the campaign cannot do that in its current status")
	// ErrNoList: the campaign names no recipients (neither a file nor a tag).
	ErrNoList error = &provider.FieldError{Field: "tag", Reason: "send a file, or a tag choosing contacts"}
)

// Create stores a campaign and its recipients, then starts it unless it is a draft. The
// campaign is returned with its report even when it cannot start (e.g. not enough credits: it
// then stays a draft). The operation's result (store.Tx.Done) is the campaign as first stored,
// in the transaction that stores it: a retry with the request's Idempotency-Key during a long
// fill finds this campaign. A create refused afterwards forgets the key (see refused).
func (s *Service) Create(ctx context.Context, c model.Client, in Input) (model.Campaign, Report, error) {
	rep := Report{Invalid: []Invalid{}}
	in.Name, in.Message = strings.TrimSpace(in.Name), strings.TrimSpace(in.Message)
	switch {
	case in.Message == "":
		return model.Campaign{}, rep, &provider.FieldError{Field: "message", Reason: "message is required"}
	case in.Name == "":
		in.Name = "Campaign " + s.Clock().UTC().Format("2006-01-02 15:04")
	case len(in.Name) > 200:
		return model.Campaign{}, rep, &provider.FieldError{Field: "name", Reason: "name must be at most 200 characters"}
	}
	if err := checkText(in); err != nil {
		return model.Campaign{}, rep, err
	}
	var rows *csvimport.Reader
	if in.File != nil {
		// Read the file's head before anything is stored: an unusable file leaves no campaign.
		var err error
		if rows, err = csvimport.Open(in.File, csvimport.Options{Mapping: in.Mapping, Region: s.Region}); err != nil {
			return model.Campaign{}, rep, &provider.FieldError{Field: "file", Reason: err.Error()}
		}
	} else if in.Tag == "" && in.List == nil {
		return model.Campaign{}, rep, ErrNoList
	}
	now := s.Clock().UTC()
	cp := model.Campaign{ID: model.NewIDAt("cmp", now), ClientID: c.ID, Name: in.Name, Message: in.Message,
		Status: model.CampaignCreating, ScheduleAt: in.ScheduleAt, QuietHours: in.QuietHours, CreatedAt: now}
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCampaign(ctx, cp); err != nil {
			return err
		}
		return tx.Done(ctx, cp)
	}); err != nil {
		return model.Campaign{}, rep, err
	}
	if err := s.fill(ctx, c, &cp, rows, in, &rep); err != nil {
		// Not startable, ever: the recipients may be half stored.
		bg := context.WithoutCancel(ctx)
		ferr := s.Store.InTx(bg, func(tx *store.Tx) error {
			if err := tx.Forget(bg); err != nil {
				return err
			}
			return tx.SetCampaignStatus(bg, c.ID, cp.ID, model.CampaignFailed, s.Clock().UTC(), model.CampaignCreating)
		})
		if ferr != nil {
			s.Log.Error("campaign: marking a campaign that failed to fill", "campaign", cp.ID, "error", ferr)
		}
		return model.Campaign{}, rep, err
	}
	cp.Status = model.CampaignDraft
	if cp.Total == 0 {
		return cp, rep, s.refused(ctx, cp.ID, ErrNoRecipients)
	}
	if in.Draft {
		return cp, rep, nil
	}
	started, err := s.Start(ctx, c, cp.ID)
	if err != nil {
		return cp, rep, s.refused(ctx, cp.ID, err)
	}
	return started, rep, nil
}

// refused ends a create that stored its campaign (a draft, kept for the client to look at) but
// answers with err: the request's Idempotency-Key, kept with the campaign, is forgotten, since
// only successes are kept and the request may be retried once its cause is fixed.
func (s *Service) refused(ctx context.Context, id string, err error) error {
	bg := context.WithoutCancel(ctx)
	if ferr := s.Store.InTx(bg, func(tx *store.Tx) error { return tx.Forget(bg) }); ferr != nil {
		s.Log.Error("campaign: forgetting the key of a refused campaign", "campaign", id, "error", ferr)
	}
	return err
}

// checkText refuses a campaign whose name, message or tag is not text (package text), naming
// the field, whichever transport it came through.
func checkText(in Input) error {
	for _, f := range [...]struct{ name, v string }{{"message", in.Message}, {"name", in.Name}, {"tag", in.Tag}} {
		switch text.Check(f.v) {
		case text.NUL:
			return &provider.FieldError{Field: f.name, Reason: f.name + " must be text (it has a NUL byte)"}
		case text.NotUTF8:
			return &provider.FieldError{Field: f.name, Reason: f.name + " must be text (it has bytes that are not UTF-8)"}
		}
	}
	return nil
}

// fill renders and stores the recipients, and records the campaign's counts and price.
// The campaign becomes a draft (startable) only in the transaction that records its price.
func (s *Service) fill(ctx context.Context, c model.Client, cp *model.Campaign, rows *csvimport.Reader, in Input, rep *Report) error {
	tmpl := template.Parse(in.Message)
	var (
		batch []model.Recipient
		seq   int64
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var added int64
		err := s.Store.InTx(ctx, func(tx *store.Tx) (err error) {
			added, err = tx.AddRecipients(ctx, batch)
			return err
		})
		rep.Duplicates += int64(len(batch)) - added
		cp.Total += added
		batch = batch[:0]
		return err
	}
	add := func(line int, phone string, fields map[string]string) error {
		rep.Rows++
		body, err := tmpl.Render(fields)
		var n sms.Count
		if flaw := text.Check(body); err == nil && flaw != text.OK {
			// A recipient's own field (a list given in the request) can bring what is not text.
			err = fmt.Errorf("the message for this recipient is not text: it holds %s", flaw)
		}
		if err == nil {
			if n = sms.Segments(body); n.Segments == 0 || n.Segments > outbound.MaxSegments {
				err = fmt.Errorf("the message takes %d segments for this recipient; 1 to %d are allowed", n.Segments, outbound.MaxSegments)
			}
		}
		if err != nil {
			rep.InvalidCount++
			if len(rep.Invalid) < MaxListed {
				rep.Invalid = append(rep.Invalid, Invalid{Line: line, Phone: phone, Error: err.Error()})
			}
			return nil
		}
		seq++
		batch = append(batch, model.Recipient{CampaignID: cp.ID, Seq: seq, Line: line, Phone: phone, Body: body,
			Segments: n.Segments, Encoding: string(n.Encoding), CostCents: int64(n.Segments) * c.RateCents,
			Status: model.RecipientPending})
		if len(batch) == 5000 {
			return flush()
		}
		return nil
	}
	var err error
	switch {
	case rows != nil:
		err = fromFile(rows, add, rep)
	case in.List != nil:
		err = s.fromList(in.List, add, rep)
	default:
		err = s.fromTag(ctx, c.ID, in.Tag, add)
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	cp.Invalid = rep.InvalidCount
	var priced model.Campaign
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		priced = *cp
		cost, err := tx.RecipientsCost(ctx, cp.ID)
		if err != nil {
			return err
		}
		priced.CostCents = cost
		priced.Report = string(mustJSON(rep))
		if err := tx.UpdateCampaign(ctx, priced); err != nil {
			return err
		}
		return tx.SetCampaignStatus(ctx, c.ID, cp.ID, model.CampaignDraft, s.Clock().UTC(), model.CampaignCreating)
	})
	if err == nil {
		*cp = priced
	}
	return err
}

type adder func(line int, phone string, fields map[string]string) error

func fromFile(r *csvimport.Reader, add adder, rep *Report) error {
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, csvimport.ErrRunaway) {
			return &provider.FieldError{Field: "file", Reason: err.Error()}
		}
		if err != nil {
			return err
		}
		if row.Err != nil {
			rep.Rows++
			rep.InvalidCount++
			if len(rep.Invalid) < MaxListed {
				rep.Invalid = append(rep.Invalid, Invalid{Line: row.Line, Error: row.Err.Error()})
			}
			continue
		}
		if err := add(row.Line, row.Phone, fieldsOf(row.Phone, row.FirstName, row.LastName, row.Business, row.Fields)); err != nil {
			return err
		}
	}
}

func (s *Service) fromTag(ctx context.Context, clientID, tag string, add adder) error {
	line := 0
	return s.Store.EachContact(ctx, clientID, func(ct model.Contact) error {
		for _, t := range ct.Tags {
			if t == tag {
				line++
				return add(line, ct.Phone, fieldsOf(ct.Phone, ct.FirstName, ct.LastName, ct.Business, ct.Fields))
			}
		}
		return nil
	})
}

// fromList adds recipients given in the request (a bulk send made a campaign).
func (s *Service) fromList(list []map[string]string, add adder, rep *Report) error {
	for i, fields := range list {
		phone, err := sms.NormalizeE164(fields["phone"], s.Region)
		if err != nil {
			rep.Rows++
			rep.InvalidCount++
			if len(rep.Invalid) < MaxListed {
				rep.Invalid = append(rep.Invalid, Invalid{Line: i + 1, Phone: fields["phone"], Error: err.Error()})
			}
			continue
		}
		f := make(map[string]string, len(fields)+1)
		for k, v := range fields {
			f[template.Key(k)] = v
		}
		f["phone"] = phone
		if err := add(i+1, phone, f); err != nil {
			return err
		}
	}
	return nil
}

// fieldsOf makes a recipient's template fields, keyed as the template package reads them.
func fieldsOf(phone, first, last, business string, custom map[string]string) map[string]string {
	f := map[string]string{"phone": phone, "firstname": first, "lastname": last, "business": business}
	for k, v := range custom {
		f[template.Key(k)] = v
	}
	return f
}
