package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/campaign"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

type campaignRow struct {
	model.Campaign
	campaign.Progress
	Done    int64
	Percent int64
}

// Active reports whether the campaign is still moving (the page then keeps polling).
func (c campaignRow) Active() bool {
	switch c.Status {
	case model.CampaignSending, model.CampaignScheduled, model.CampaignCreating:
		return true
	}
	return false
}

func (d *Dashboard) campaignRow(r *http.Request, cp model.Campaign, withReplied bool) (campaignRow, error) {
	p, err := d.Campaigns.Progress(r.Context(), cp, d.CampaignReplyWindow, withReplied)
	row := campaignRow{Campaign: cp, Progress: p, Done: p.Done(cp.Total)}
	if cp.Total > 0 {
		row.Percent = row.Done * 100 / cp.Total
	}
	return row, err
}

func (d *Dashboard) listCampaigns(w http.ResponseWriter, r *http.Request, v *view) error {
	cps, err := d.Store.Campaigns(r.Context(), v.Client.ID, "", 100)
	if err != nil {
		return err
	}
	rows := make([]campaignRow, 0, len(cps))
	for _, cp := range cps {
		row, err := d.campaignRow(r, cp, false)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	d.render(w, r, v, http.StatusOK, "campaigns", "Campaigns", rows)
	return nil
}

type campaignForm struct {
	Name, Message, Tag, ScheduleAt string
	QuietHours                     bool
	Error                          string
	Estimate                       estimate
	Invalid                        []campaign.Invalid
}

func (d *Dashboard) newCampaign(w http.ResponseWriter, r *http.Request, v *view) error {
	f := campaignForm{Tag: r.URL.Query().Get("tag")}
	f.Estimate = d.estimate(v.Client, "")
	d.render(w, r, v, http.StatusOK, "campaign_new", "New campaign", f)
	return nil
}

// createCampaign stores the campaign as a draft (rendered and priced) and shows its preview;
// it sends only when the person confirms.
func (d *Dashboard) createCampaign(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return d.campaignFormError(w, r, v, campaignForm{}, "The file is too large.")
		}
		return d.campaignFormError(w, r, v, campaignForm{}, "The form could not be read; try again.")
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	f := campaignForm{Name: r.FormValue("name"), Message: r.FormValue("message"), Tag: strings.TrimSpace(r.FormValue("tag")),
		ScheduleAt: r.FormValue("schedule_at"), QuietHours: r.FormValue("quiet_hours") != ""}
	in := campaign.Input{Name: f.Name, Message: f.Message, Draft: true, QuietHours: f.QuietHours}
	if f.ScheduleAt != "" {
		at, err := time.ParseInLocation("2006-01-02T15:04", f.ScheduleAt, time.UTC)
		if err != nil {
			return d.campaignFormError(w, r, v, f, "The schedule is not a date and time.")
		}
		if at.Before(d.Clock()) {
			return d.campaignFormError(w, r, v, f, "The schedule is in the past: leave it empty to send at once.")
		}
		in.ScheduleAt = at
	}
	if file, _, err := r.FormFile("file"); err == nil {
		defer file.Close()
		in.File = file
	} else {
		in.Tag = f.Tag
	}
	cp, rep, err := d.Campaigns.Create(r.Context(), v.Client, in)
	if err != nil {
		f.Invalid = rep.Invalid
		switch {
		case errors.Is(err, campaign.ErrNoList):
			return d.campaignFormError(w, r, v, f, "Choose the recipients: a tag of your contacts, or a CSV file.")
		case errors.Is(err, campaign.ErrNoRecipients):
			return d.campaignFormError(w, r, v, f, "No valid recipient: nobody would get this campaign.")
		}
		if msg, ok := userMessage(err); ok {
			return d.campaignFormError(w, r, v, f, msg)
		}
		return err
	}
	redirect(w, r, "/campaigns/"+cp.ID, "Draft saved: check the preview, then send.")
	return nil
}

func (d *Dashboard) campaignFormError(w http.ResponseWriter, r *http.Request, v *view, f campaignForm, msg string) error {
	f.Error, f.Estimate = msg, d.estimate(v.Client, f.Message)
	d.render(w, r, v, http.StatusUnprocessableEntity, "campaign_new", "New campaign", f)
	return nil
}

type campaignPage struct {
	Campaign campaignRow
	Preview  []model.Recipient
	Balance  int64
	Error    string
	// Report is what creating the campaign found in its list: the rows it refused.
	Report *campaign.Report
	// Recipients is a page of the recipients once the campaign started, each with its
	// message's status; Next is the cursor of the next page (0: none).
	Recipients []model.Recipient
	Next       int64
}

// recipientsPage is how many recipients the campaign page lists at a time.
const recipientsPage = 50

func (d *Dashboard) campaignPage(w http.ResponseWriter, r *http.Request, v *view) error {
	cp, err := d.Store.Campaign(r.Context(), v.Client.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	row, err := d.campaignRow(r, cp, !isActive(cp))
	if err != nil {
		return err
	}
	data := campaignPage{Campaign: row}
	if r.URL.Query().Get("part") == "progress" {
		d.fragment(w, r, v, "campaign", "progress", data)
		return nil
	}
	if data.Preview, err = d.Store.Recipients(r.Context(), cp.ID, "", 0, 5, d.CampaignReplyWindow); err != nil {
		return err
	}
	if cp.Report != "" {
		var rep campaign.Report
		if json.Unmarshal([]byte(cp.Report), &rep) == nil {
			data.Report = &rep
		}
	}
	if cp.Status != model.CampaignDraft {
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		rs, err := d.Store.Recipients(r.Context(), cp.ID, "", after, recipientsPage+1, d.CampaignReplyWindow)
		if err != nil {
			return err
		}
		if len(rs) > recipientsPage {
			rs, data.Next = rs[:recipientsPage], rs[recipientsPage-1].Seq
		}
		data.Recipients = rs
	}
	if data.Balance, err = d.Store.Balance(r.Context(), v.Client.ID); err != nil {
		return err
	}
	d.render(w, r, v, http.StatusOK, "campaign", cp.Name, data)
	return nil
}

// isActive: the replied count reads every recipient's conversation; it is left out while a
// campaign is sending and the progress is polled every second.
func isActive(cp model.Campaign) bool {
	return campaignRow{Campaign: cp}.Active()
}

// campaignAction starts, pauses, resumes or cancels a campaign.
func (d *Dashboard) campaignAction(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	var (
		err error
		msg string
	)
	switch r.PathValue("action") {
	case "start":
		_, err = d.Campaigns.Start(r.Context(), v.Client, id)
		msg = "Sending started."
	case "pause":
		_, err = d.Campaigns.Pause(r.Context(), v.Client, id)
		msg = "Paused: nothing more is sent until you resume."
	case "resume":
		_, err = d.Campaigns.Resume(r.Context(), v.Client, id)
		msg = "Resumed."
	case "cancel":
		_, err = d.Campaigns.Cancel(r.Context(), v.Client, id)
		msg = "Cancelled: what was not sent is refunded."
	default:
		return store.ErrNotFound
	}
	switch {
	case errors.Is(err, campaign.ErrNotAllowed):
		msg = "That is not possible in the campaign's present state."
	case err != nil:
		if m, ok := userMessage(err); ok {
			msg = m
		} else {
			return err
		}
	}
	redirect(w, r, "/campaigns/"+id, msg)
	return nil
}
