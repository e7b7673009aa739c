// Package services runs the services clients put on their numbers and short codes (model.Service):
// a message to such a number is matched against the service's commands, or answers the step of
// the flow its phone is in, and the service's answer goes back as a charged send from the same
// number. The decision (Decide) is pure; the job that runs it (Runner) reads the session and the
// rate limit, calls the client's endpoint when a command says so, and writes the answer, the
// session, the exchange log and the client's events in one transaction.
package services

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/template"
)

// Default texts of a service that gives none.
const (
	DefaultInvalidReply  = "Sorry, that is not an option. Reply with: [menu]"
	DefaultExitReply     = "You left. Reply with: [menu]"
	DefaultRetriesReply  = "Too many invalid answers. Reply with: [menu]"
	defaultRepromptStart = "Sorry, that answer is not valid. "
	DefaultSubscribed    = "You are subscribed."
	DefaultUnsubscribed  = "You are unsubscribed."
)

// Reasons an exchange was (or was not) handled, as the log and the client's events name them.
const (
	ReasonCommand          = "command"
	ReasonFlowStep         = "flow_step"
	ReasonFlowCompleted    = "flow_completed"
	ReasonFlowExit         = "flow_exit"
	ReasonRetry            = "retry"
	ReasonRetriesExhausted = "retries_exhausted"
	ReasonInvalid          = "invalid"
	ReasonRateLimited      = "rate_limited"
	ReasonOptedOut         = "opted_out"
	ReasonTemplate         = "template_error"
	ReasonError            = "error"
)

// Input is one message to a service, with what is known of its sender.
type Input struct {
	Text    string
	Phone   string
	To      string
	Contact model.ContactInfo
	// Session is the phone's session with the service (nil: none, or it expired).
	Session *model.ServiceSession
	Now     time.Time
}

// Decision is what a service does with one message.
type Decision struct {
	Command string // the matched command's keyword
	Flow    string // the flow and step the message answered, or started
	Step    string
	Handled bool
	Reason  string
	// Reply is the answer's text ("" for none). With Callout, it is what to send when the
	// endpoint answers without a reply.
	Reply   string
	Callout *Callout
	// Session is the phone's session after the message; nil ends it.
	Session *model.ServiceSession
	// Contact holds names to write on the contact, ContactFields which of them.
	Contact       model.ContactInfo
	ContactFields []string
	// Tag, with TagAdd, subscribes (true) or unsubscribes the contact.
	Tag    string
	TagAdd bool
	// Completed is the flow the message completed, with its answers.
	Completed *Completion
}

// Completion is a finished flow.
type Completion struct {
	Flow    string            `json:"flow"`
	Answers map[string]string `json:"answers"`
}

// Callout is a call to the client's endpoint the decision waits for.
type Callout struct {
	URL      string
	Timeout  time.Duration
	Fallback string
	Body     CalloutBody
	// KeepSession: the endpoint's session is kept (a command's callout); a flow's completion
	// ends the session whatever the endpoint says.
	KeepSession bool
}

// CalloutBody is what Ibiki posts to a callout endpoint.
type CalloutBody struct {
	Phone   string            `json:"phone"`
	To      string            `json:"to"`
	Text    string            `json:"text"`
	Words   []string          `json:"words"`
	Session json.RawMessage   `json:"session"`
	Command string            `json:"command,omitempty"`
	Flow    string            `json:"flow,omitempty"`
	Answers map[string]string `json:"answers,omitempty"`
}

// Decide runs a service on one message.
func Decide(svc model.Service, in Input) Decision {
	spec := svc.Spec
	text := strings.TrimSpace(in.Text)
	if s := in.Session; s != nil && s.Flow != "" {
		if f, ok := spec.Flows[s.Flow]; ok {
			if st, _, ok := f.Step(s.Step); ok {
				return answer(svc, in, text, f, st)
			}
		}
		in.Session = nil // the service changed under the session: start afresh
	}
	cmd, words, ok := match(spec.Commands, text)
	if !ok {
		d := Decision{Reason: ReasonInvalid, Session: in.Session}
		if !spec.SilentInvalid {
			d.Reply = render(spec, orDefault(spec.InvalidReply, DefaultInvalidReply), in, words, nil, &d)
		}
		return d
	}
	d := Decision{Command: cmd.Keyword, Handled: true, Reason: ReasonCommand, Session: in.Session}
	a := cmd.Action
	switch a.Type {
	case model.ActionReply:
		d.Reply = render(spec, a.Text, in, words, nil, &d)
	case model.ActionCallout:
		var data json.RawMessage
		if in.Session != nil {
			data = in.Session.Data
		}
		d.Callout = &Callout{URL: a.URL, Timeout: a.CalloutTimeout(), KeepSession: true,
			Fallback: render(spec, a.Fallback, in, words, nil, &d),
			Body:     CalloutBody{Phone: in.Phone, To: in.To, Text: text, Words: orEmpty(words), Session: data, Command: cmd.Keyword}}
		d.Reply = render(spec, a.Text, in, words, nil, &d)
	case model.ActionFlow:
		f := spec.Flows[a.Flow]
		first := f.Steps[0]
		d.Flow, d.Step = a.Flow, first.ID
		d.Session = &model.ServiceSession{ServiceID: svc.ID, Phone: in.Phone, Flow: a.Flow, Step: first.ID,
			Answers: map[string]string{}, ExpiresAt: in.Now.Add(spec.SessionTTL())}
		d.Reply = render(spec, first.Prompt, in, words, nil, &d)
	case model.ActionSubscribe, model.ActionUnsubscribe:
		d.Tag, d.TagAdd = strings.TrimSpace(a.Tag), a.Type == model.ActionSubscribe
		def := DefaultUnsubscribed
		if d.TagAdd {
			def = DefaultSubscribed
		}
		d.Reply = render(spec, orDefault(a.Text, def), in, words, nil, &d)
	}
	if d.Session != nil && d.Session.Flow == "" {
		d.Session.ExpiresAt = in.Now.Add(spec.SessionTTL()) // a kept callout session lives on
	}
	return d
}

// answer takes a message as the answer to the step a phone is on.
func answer(svc model.Service, in Input, text string, f model.Flow, st model.Step) Decision {
	spec := svc.Spec
	sess := *in.Session
	sess.Answers = cloneAnswers(sess.Answers)
	sess.ExpiresAt = in.Now.Add(spec.SessionTTL())
	d := Decision{Flow: sess.Flow, Step: st.ID, Handled: true}
	for _, w := range spec.Exits() {
		if strings.EqualFold(text, strings.TrimSpace(w)) {
			d.Reason, d.Session = ReasonFlowExit, nil
			d.Reply = render(spec, orDefault(spec.ExitReply, DefaultExitReply), in, nil, sess.Answers, &d)
			return d
		}
	}
	value, ok := accept(st.Expect, text)
	if !ok {
		if sess.Retries >= st.MaxRetries() {
			d.Reason, d.Session = ReasonRetriesExhausted, nil
			d.Reply = render(spec, DefaultRetriesReply, in, nil, sess.Answers, &d)
			return d
		}
		sess.Retries++
		d.Reason, d.Session = ReasonRetry, &sess
		d.Reply = render(spec, orDefault(st.Reprompt, defaultRepromptStart+st.Prompt), in, nil, sess.Answers, &d)
		return d
	}
	sess.Answers[st.SaveAs()] = value
	sess.Retries = 0
	if st.Contact != "" {
		d.Contact, d.ContactFields = contactFrom(st.Contact, value, in.Contact)
		in.Contact = d.Contact
	}
	next := nextStep(f, st, value)
	if next == "" {
		d.Reason, d.Session = ReasonFlowCompleted, nil
		d.Completed = &Completion{Flow: sess.Flow, Answers: sess.Answers}
		c := f.Complete
		d.Reply = render(spec, c.Text, in, nil, sess.Answers, &d)
		if c.Type == model.ActionCallout {
			d.Callout = &Callout{URL: c.URL, Timeout: c.CalloutTimeout(),
				Fallback: render(spec, c.Fallback, in, nil, sess.Answers, &d),
				Body: CalloutBody{Phone: in.Phone, To: in.To, Text: text, Words: []string{}, Session: sess.Data,
					Flow: sess.Flow, Answers: sess.Answers}}
		}
		return d
	}
	ns, _, _ := f.Step(next)
	sess.Step = ns.ID
	d.Reason, d.Session = ReasonFlowStep, &sess
	d.Reply = render(spec, ns.Prompt, in, nil, sess.Answers, &d)
	return d
}

// nextStep is the step after st for value, "" when the flow is complete.
func nextStep(f model.Flow, st model.Step, value string) string {
	if n, ok := st.Branches[value]; ok {
		if n == model.StepEnd {
			return ""
		}
		return n
	}
	switch st.Next {
	case model.StepEnd:
		return ""
	case "":
		if _, i, _ := f.Step(st.ID); i+1 < len(f.Steps) {
			return f.Steps[i+1].ID
		}
		return ""
	}
	return st.Next
}

// maxNameRunes bounds what an answer writes into one of the contact's names (the contact book's
// own bound, contact.MaxNameLen).
const maxNameRunes = 256

// contactFrom writes an answer into the contact's names, each cut to maxNameRunes.
func contactFrom(field, value string, c model.ContactInfo) (model.ContactInfo, []string) {
	c, set := contactFields(field, value, c)
	c.FirstName, c.LastName, c.Business = cut(c.FirstName), cut(c.LastName), cut(c.Business)
	return c, set
}

func cut(s string) string {
	if r := []rune(s); len(r) > maxNameRunes {
		return strings.TrimSpace(string(r[:maxNameRunes]))
	}
	return s
}

func contactFields(field, value string, c model.ContactInfo) (model.ContactInfo, []string) {
	switch field {
	case "name":
		first, last, _ := strings.Cut(strings.Join(strings.Fields(value), " "), " ")
		c.FirstName, c.LastName = first, last
		return c, []string{"first_name", "last_name"}
	case "first_name":
		c.FirstName = value
	case "last_name":
		c.LastName = value
	case "business":
		c.Business = value
	}
	return c, []string{field}
}

// accept reads an answer as a step expects it; the value is what is stored (a choice as the
// step wrote it).
func accept(e model.Expect, text string) (string, bool) {
	switch e.Type {
	case model.ExpectChoice:
		return e.Choice(text)
	case model.ExpectRegex:
		re := compiled(e.Pattern)
		return text, re != nil && re.MatchString(text)
	case model.ExpectNumber:
		n, err := strconv.ParseFloat(strings.ReplaceAll(text, ",", ""), 64)
		if err != nil || !decimal.MatchString(text) || (e.Min != nil && n < *e.Min) || (e.Max != nil && n > *e.Max) {
			return "", false
		}
		return text, true
	default:
		if text == "" || (e.MaxLength > 0 && len([]rune(text)) > e.MaxLength) {
			return "", false
		}
		return text, true
	}
}

// decimal is what a number step takes: digits, a sign, a point, thousands commas (no NaN, Inf,
// hex or exponents).
var decimal = regexp.MustCompile(`^[+-]?[0-9][0-9,]*(\.[0-9]+)?$|^[+-]?\.[0-9]+$`)

var patterns sync.Map // pattern -> *regexp.Regexp (nil when it does not compile)

// compiled is a step's pattern, anchored to the whole answer, compiled once.
func compiled(p string) *regexp.Regexp {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		re = nil
	}
	patterns.Store(p, re)
	return re
}

// match finds the command a text names: an only_word match first, then first_word, then
// prefix, each in the order of the commands; words are what follows the keyword.
func match(cmds []model.Command, text string) (model.Command, []string, bool) {
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return model.Command{}, nil, false
	}
	for _, mode := range []string{model.MatchOnlyWord, model.MatchFirstWord, model.MatchPrefix} {
		for _, c := range cmds {
			if c.Match != mode {
				continue
			}
			switch mode {
			case model.MatchOnlyWord:
				if len(fields) == 1 && strings.EqualFold(fields[0], c.Keyword) {
					return c, nil, true
				}
			case model.MatchFirstWord:
				if strings.EqualFold(fields[0], c.Keyword) {
					return c, fields[1:], true
				}
			case model.MatchPrefix:
				if len(text) >= len(c.Keyword) && strings.EqualFold(text[:len(c.Keyword)], c.Keyword) {
					return c, strings.Fields(text[len(c.Keyword):]), true
				}
			}
		}
	}
	return model.Command{}, nil, false
}

// Menu lists a service's commands: "1 Register, BAL Balance".
func Menu(spec model.ServiceSpec) string {
	items := make([]string, 0, len(spec.Commands))
	for _, c := range spec.Commands {
		items = append(items, strings.TrimSpace(c.Keyword+" "+c.Description))
	}
	return strings.Join(items, ", ")
}

// render fills a service's text: the contact's fields, phone, to, words, menu and the flow's
// answers by their names. A text that does not render (a field without value or default) is
// no answer: d records why.
func render(spec model.ServiceSpec, text string, in Input, words []string, answers map[string]string, d *Decision) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	fields := make(map[string]string, 8+len(answers))
	for k, v := range answers {
		fields[template.Key(k)] = v
	}
	fields["phone"], fields["to"], fields["words"] = in.Phone, in.To, strings.Join(words, " ")
	fields["firstname"], fields["lastname"], fields["business"] = in.Contact.FirstName, in.Contact.LastName, in.Contact.Business
	fields["menu"] = Menu(spec)
	out, err := template.Parse(text).Render(fields)
	if err != nil {
		d.Reason, d.Handled = ReasonTemplate, false
		return ""
	}
	return out
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func cloneAnswers(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
