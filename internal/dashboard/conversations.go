package dashboard

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ibiki/ibiki/internal/conversation"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
)

type conversationRow struct {
	model.Conversation
	OptedOut bool
	Name     string // the contact's name in the client's contact book ("" for none)
}

type conversationsData struct {
	Q             string
	Channel       model.Channel // the channel filter ("" for all)
	To            string        // the receiving-number filter ("" for all)
	Numbers       []string      // the client's receiving numbers, for the filter
	Conversations []conversationRow
	// Current is the open conversation (empty on the list alone).
	Current  conversationRow
	Contact  *contactPanel
	Messages []model.Message
	Error    string
	Body     string
	Estimate estimate
}

// contactPanel is what the thread shows of the person beside it: the contact-book entry, and the
// contact's conversations on each channel.
type contactPanel struct {
	ContactID string // "" when the phone is not in the contact book
	Name      string
	Business  string
	Tags      []string
	OptedOut  bool
	Channels  []model.Conversation
}

// channels the inbox filters by.
var inboxChannels = []model.Channel{model.ChannelSMS, model.ChannelWhatsApp, model.ChannelVoice}

// Channels are the channels the inbox filters by.
func (conversationsData) Channels() []model.Channel { return inboxChannels }

// listConversations is the client's inbox: most recently active first, with unread counts,
// searchable by phone or by the preview of the latest message (store.SearchConversations).
func (d *Dashboard) listConversations(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.conversations(r, v)
	if err != nil {
		return err
	}
	if r.Header.Get("HX-Request") != "" && r.URL.Query().Get("part") == "list" {
		d.fragment(w, r, v, "conversations", "conversation-list", data)
		return nil
	}
	d.render(w, r, v, http.StatusOK, "conversations", "Conversations", data)
	return nil
}

func (d *Dashboard) conversations(r *http.Request, v *view) (conversationsData, error) {
	query := r.URL.Query()
	q := cleanQuery(query.Get("q"))
	data := conversationsData{Q: q}
	f := store.ConversationFilter{}
	if ch := model.Channel(query.Get("channel")); slices.Contains(inboxChannels, ch) {
		f.Channel, data.Channel = ch, ch
	}
	dedicated, pool, err := d.Store.SendingNumbers(r.Context(), v.Client.ID)
	if err != nil {
		return data, err
	}
	for _, n := range slices.Concat(dedicated, pool) {
		data.Numbers = append(data.Numbers, n.Number)
		if n.Number == query.Get("to") {
			f.To, data.To = n.Number, n.Number
		}
	}
	var cs []model.Conversation
	if q != "" {
		cs, err = d.Store.SearchConversations(r.Context(), v.Client.ID, q, 100)
		cs = slices.DeleteFunc(cs, func(c model.Conversation) bool {
			return (f.Channel != "" && c.Channel != f.Channel) || (f.To != "" && c.LastInboundTo != f.To)
		})
	} else {
		cs, err = d.Store.Conversations(r.Context(), v.Client.ID, f, nil, 100)
	}
	if err != nil {
		return data, err
	}
	phones := make([]string, len(cs))
	for i, c := range cs {
		phones[i] = c.Phone
	}
	out, err := d.Store.OptedOutAmong(r.Context(), v.Client.ID, phones)
	if err != nil {
		return data, err
	}
	names, err := d.Store.ContactNamesAmong(r.Context(), v.Client.ID, phones)
	if err != nil {
		return data, err
	}
	for _, c := range cs {
		data.Conversations = append(data.Conversations, conversationRow{Conversation: c, OptedOut: out[c.Phone], Name: names[c.Phone]})
	}
	return data, nil
}

// contactPanel reads what the thread shows beside it of the contact behind phone.
func (d *Dashboard) contactPanel(r *http.Request, clientID, phone string, optedOut bool) (*contactPanel, error) {
	p := &contactPanel{OptedOut: optedOut}
	c, err := d.Store.ContactByPhone(r.Context(), clientID, phone)
	switch {
	case err == nil:
		p.ContactID, p.Name, p.Business, p.Tags = c.ID, strings.TrimSpace(c.FirstName+" "+c.LastName), c.Business, c.Tags
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	for _, ch := range inboxChannels {
		conv, err := d.Store.Conversation(r.Context(), clientID, phone, ch)
		switch {
		case err == nil:
			p.Channels = append(p.Channels, conv)
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return p, nil
}

func (d *Dashboard) optedOut(r *http.Request, clientID, phone string) (bool, error) {
	_, err := d.Store.OptOut(r.Context(), clientID, phone)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// conversation shows one thread (and marks it read). Another client's id is 404.
func (d *Dashboard) conversation(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.thread(r, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("part") {
	case "messages":
		d.fragment(w, r, v, "conversations", "thread-messages", data)
		return nil
	case "list":
		d.fragment(w, r, v, "conversations", "conversation-list", data)
		return nil
	}
	d.render(w, r, v, http.StatusOK, "conversations", data.Current.Phone, data)
	return nil
}

func (d *Dashboard) thread(r *http.Request, v *view, id string) (conversationsData, error) {
	conv, err := d.Store.ConversationByID(r.Context(), v.Client.ID, id)
	if err != nil {
		return conversationsData{}, err
	}
	if conv.UnreadCount > 0 {
		if err := conversation.MarkRead(r.Context(), d.Store, v.Client.ID, conv.ID); err != nil {
			return conversationsData{}, err
		}
		conv.UnreadCount = 0
	}
	data, err := d.conversations(r, v)
	if err != nil {
		return data, err
	}
	data.Current = conversationRow{Conversation: conv}
	if data.Current.OptedOut, err = d.optedOut(r, v.Client.ID, conv.Phone); err != nil {
		return data, err
	}
	if data.Contact, err = d.contactPanel(r, v.Client.ID, conv.Phone, data.Current.OptedOut); err != nil {
		return data, err
	}
	data.Current.Name = data.Contact.Name
	msgs, err := d.Store.MessagesByConversation(r.Context(), v.Client.ID, conv.ID, "", 200)
	if err != nil {
		return data, err
	}
	slices.Reverse(msgs) // oldest first, as a chat reads
	data.Messages = msgs
	data.Estimate = d.estimate(v.Client, "")
	return data, nil
}

// reply sends the reply box's text in the conversation (sticky sender, ahead of bulk traffic).
func (d *Dashboard) reply(w http.ResponseWriter, r *http.Request, v *view) error {
	conv, err := d.Store.ConversationByID(r.Context(), v.Client.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	body := r.PostFormValue("body")
	ch := conv.Channel
	if ch == model.ChannelVoice {
		ch = model.ChannelSMS // a caller is answered by text
	}
	_, err = d.Outbound.Send(r.Context(), v.Client, outbound.Request{To: conv.Phone, Body: body, Channel: ch, Priority: model.PriorityInteractive})
	if r.Header.Get("HX-Request") == "" { // a plain form post (no JavaScript): back to the thread
		msg := "Sent."
		if err != nil {
			m, ok := userMessage(err)
			if !ok {
				return err
			}
			msg = "Not sent: " + m
		}
		redirect(w, r, "/conversations/"+conv.ID, msg)
		return nil
	}
	data, terr := d.thread(r, v, conv.ID)
	if terr != nil {
		return terr
	}
	if err != nil {
		msg, ok := userMessage(err)
		if !ok {
			return err
		}
		data.Error, data.Body, data.Estimate = msg, body, d.estimate(v.Client, body)
		w.Header().Set("HX-Retarget", "#thread")
		d.fragment(w, r, v, "conversations", "thread", data)
		return nil
	}
	d.fragment(w, r, v, "conversations", "thread", data)
	return nil
}

// estimate is what a text will take: segments, encoding, the characters that force UCS-2, cost.
type estimate struct {
	Chars    int
	Segments int
	Encoding string
	NonGSM   string
	Cost     int64
	TooLong  bool
}

func (d *Dashboard) estimate(c model.Client, body string) estimate {
	n := sms.Segments(body)
	return estimate{Chars: len([]rune(body)), Segments: n.Segments, Encoding: string(n.Encoding),
		NonGSM: strings.Join(n.NonGSM, " "), Cost: int64(n.Segments) * c.RateCents, TooLong: n.Segments > outbound.MaxSegments}
}

// estimateText answers the reply box (its text is "body") and the campaign builder ("message")
// as the text is typed.
func (d *Dashboard) estimateText(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	e := d.estimate(v.Client, cmp.Or(q.Get("body"), q.Get("message")))
	d.fragment(w, r, v, "conversations", "estimate-fragment", e)
	return nil
}

// userMessage turns an error a person can fix into words; ok is false for the others.
func userMessage(err error) (msg string, ok bool) {
	var fe *outbound.FieldError
	var ic *store.InsufficientCreditsError
	switch {
	case errors.As(err, &fe):
		return fe.Reason, true
	case errors.As(err, &ic):
		return fmt.Sprintf("Not enough credits: the balance is %s and this needs %s. Ask your operator for a top-up.",
			formatCents(ic.BalanceCents), formatCents(ic.NeededCents)), true
	case errors.Is(err, outbound.ErrOptedOut):
		return "This contact has opted out (replied STOP): nothing was sent. They can reply START to opt back in.", true
	case errors.Is(err, outbound.ErrClientInactive), errors.Is(err, outbound.ErrSenderNotAllowed), errors.Is(err, outbound.ErrSenderNotSupported),
		errors.Is(err, outbound.ErrChannelNotSupported), errors.Is(err, outbound.ErrMediaNotSupported):
		return err.Error(), true
	}
	return "", false
}
