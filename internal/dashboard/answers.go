package dashboard

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

// A client's automatic answers: the auto-replies to contacts who write in, and how its numbers
// answer calls. The page writes through tenant.Answers, as the APIs do.

type answersPage struct {
	Rules   []model.AutoReply
	Numbers []string
	Voice   model.VoiceAnswer
	// VoiceSet: the client configured its calls' answer (else Voice is the default).
	VoiceSet bool
	Error    string
	// Form is the rule being written back after an error.
	Form model.AutoReply
}

// Days are the days a rule's business hours can name, in order.
func (answersPage) Days() []string { return []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} }

// HasDay reports whether the form's hours name day.
func (p answersPage) HasDay(day string) bool {
	return p.Form.Hours != nil && slices.Contains(p.Form.Hours.Days, day)
}

func (d *Dashboard) answers() tenant.Answers {
	return tenant.Answers{Store: d.Store, Region: d.Region, Clock: d.Clock}
}

func (d *Dashboard) answersData(r *http.Request, v *view) (answersPage, error) {
	var p answersPage
	var err error
	if p.Rules, err = d.Store.AutoReplies(r.Context(), v.Client.ID); err != nil {
		return p, err
	}
	dedicated, pool, err := d.Store.SendingNumbers(r.Context(), v.Client.ID)
	if err != nil {
		return p, err
	}
	for _, n := range slices.Concat(dedicated, pool) {
		p.Numbers = append(p.Numbers, n.Number)
	}
	p.Voice, err = d.Store.VoiceAnswer(r.Context(), store.ClientVoiceOwner(v.Client.ID))
	switch {
	case err == nil:
		p.VoiceSet = true
	case errors.Is(err, store.ErrNotFound):
		p.Voice = model.DefaultVoiceAnswer
	default:
		return p, err
	}
	return p, nil
}

// answersSettings shows the rules, the form to add one, and the calls' answer.
func (d *Dashboard) answersSettings(w http.ResponseWriter, r *http.Request, v *view) error {
	p, err := d.answersData(r, v)
	if err != nil {
		return err
	}
	p.Form.Window = model.DefaultAutoReplyWindow
	d.render(w, r, v, http.StatusOK, "answers", "Automatic answers", p)
	return nil
}

// saveAutoReply adds a rule, or replaces the rule of the same channel and number.
func (d *Dashboard) saveAutoReply(w http.ResponseWriter, r *http.Request, v *view) error {
	in := model.AutoReply{Channel: model.Channel(r.PostFormValue("channel")), Number: r.PostFormValue("number"),
		Text: r.PostFormValue("text"), OutsideText: r.PostFormValue("outside_text")}
	hours, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("window_hours")), 64)
	if err == nil && hours > 0 {
		in.Window = time.Duration(hours * float64(time.Hour))
	}
	if r.PostFormValue("hours") == "on" {
		in.Hours = &model.BusinessHours{TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")), Days: r.PostForm["days"],
			Open: r.PostFormValue("open"), Close: r.PostFormValue("close")}
	}
	rule, err := d.answers().SaveAutoReply(r.Context(), v.Client.ID, in)
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		p, derr := d.answersData(r, v)
		if derr != nil {
			return derr
		}
		p.Error, p.Form = fe.Message, in
		d.render(w, r, v, http.StatusUnprocessableEntity, "answers", "Automatic answers", p)
		return nil
	}
	if err != nil {
		return err
	}
	d.audit(r, v, "auto_reply.save", v.Client.ID, rule.ID, "channel="+string(rule.Channel)+" number="+rule.Number)
	redirect(w, r, "/settings/answers", "Auto-reply saved.")
	return nil
}

func (d *Dashboard) deleteAutoReply(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if err := d.Store.InTx(r.Context(), func(tx *store.Tx) error { return tx.DeleteAutoReply(r.Context(), v.Client.ID, id) }); err != nil {
		return err
	}
	d.audit(r, v, "auto_reply.delete", v.Client.ID, id, "")
	redirect(w, r, "/settings/answers", "Auto-reply removed.")
	return nil
}

// saveVoice sets how the client's numbers answer calls ("default" in action removes it).
func (d *Dashboard) saveVoice(w http.ResponseWriter, r *http.Request, v *view) error {
	owner := store.ClientVoiceOwner(v.Client.ID)
	if r.PostFormValue("action") == "default" {
		err := d.Store.InTx(r.Context(), func(tx *store.Tx) error { return tx.DeleteVoiceAnswer(r.Context(), owner) })
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		d.audit(r, v, "voice.reset", v.Client.ID, "", "")
		redirect(w, r, "/settings/answers", "Calls get the default answer.")
		return nil
	}
	in := model.VoiceAnswer{Action: model.VoiceAction(r.PostFormValue("action")), Text: r.PostFormValue("voice_text"),
		ForwardTo: strings.TrimSpace(r.PostFormValue("forward_to"))}
	if s := strings.TrimSpace(r.PostFormValue("max_seconds")); s != "" && in.Action == model.VoiceVoicemail {
		n, err := strconv.Atoi(s)
		if err != nil {
			n = -1
		}
		in.MaxSeconds = n
	}
	if in.Action != model.VoiceForward {
		in.ForwardTo = ""
	}
	a, err := d.answers().SaveVoiceAnswer(r.Context(), owner, in)
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		p, derr := d.answersData(r, v)
		if derr != nil {
			return derr
		}
		p.Error, p.Voice, p.Form.Window = fe.Message, in, model.DefaultAutoReplyWindow
		d.render(w, r, v, http.StatusUnprocessableEntity, "answers", "Automatic answers", p)
		return nil
	}
	if err != nil {
		return err
	}
	d.audit(r, v, "voice.save", v.Client.ID, "", "action="+string(a.Action))
	redirect(w, r, "/settings/answers", "Calls' answer saved.")
	return nil
}
