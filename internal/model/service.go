package model

import (
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/optout"
)

// Service is a small program on a receiving number or short code: contacts who write to the
// number get answers from its commands and flows (package services runs it). ClientID is the
// client who owns the number, or "" for a service the operator put on a pool number (it then
// answers on behalf of whichever client the message routes to).
type Service struct {
	ID        string
	ClientID  string
	Number    string
	Name      string
	Active    bool
	Spec      ServiceSpec
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ServiceSpec is what a service does, as clients write it (JSON).
type ServiceSpec struct {
	Commands []Command       `json:"commands"`
	Flows    map[string]Flow `json:"flows,omitempty"`
	// InvalidReply answers an input that is no command ("" for the default); [menu] in it lists
	// the commands. SilentInvalid leaves such inputs unanswered.
	InvalidReply  string `json:"invalid_reply,omitempty"`
	SilentInvalid bool   `json:"silent_invalid,omitempty"`
	// ExitWords leave a flow (default 0 and EXIT); ExitReply answers them ("" for the default).
	ExitWords []string `json:"exit_words,omitempty"`
	ExitReply string   `json:"exit_reply,omitempty"`
	// SessionTTLSeconds is how long a contact's session lasts after its last message (default
	// 3600).
	SessionTTLSeconds int `json:"session_ttl_seconds,omitempty"`
	// RateLimit bounds how often one phone is answered (nil: no limit).
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
}

// RateLimit is a token bucket per phone: Burst messages at once, refilled at PerMinute.
type RateLimit struct {
	PerMinute float64 `json:"per_minute"`
	Burst     int     `json:"burst"`
}

// Command is a keyword or numeric code and what it does.
type Command struct {
	Keyword string `json:"keyword"`
	// Match is only_word (the whole message is the keyword; the default), first_word (the
	// first word is; the others are the command's words) or prefix (the message starts with
	// it; what follows is the words).
	Match       string `json:"match,omitempty"`
	Description string `json:"description,omitempty"` // shown in the menu
	Action      Action `json:"action"`
}

// Command match modes.
const (
	MatchOnlyWord  = "only_word"
	MatchFirstWord = "first_word"
	MatchPrefix    = "prefix"
)

// Action is what a command does, or how a flow ends.
type Action struct {
	Type string `json:"type"` // reply, callout, flow, subscribe, unsubscribe
	// Text is the reply (reply; and the confirmation of subscribe, unsubscribe and of a
	// callout whose endpoint gives none), a template of the contact's fields.
	Text string `json:"text,omitempty"`
	// URL, TimeoutMS (default 5000) and Fallback (sent when the call fails) make a callout.
	URL       string `json:"url,omitempty"`
	TimeoutMS int    `json:"timeout_ms,omitempty"`
	Fallback  string `json:"fallback,omitempty"`
	Flow      string `json:"flow,omitempty"` // flow: its name
	Tag       string `json:"tag,omitempty"`  // subscribe, unsubscribe: the contact tag
}

// Action types.
const (
	ActionReply       = "reply"
	ActionCallout     = "callout"
	ActionFlow        = "flow"
	ActionSubscribe   = "subscribe"
	ActionUnsubscribe = "unsubscribe"
)

// Flow is a multi-step exchange: its steps in order (the first starts it), and how it ends
// (Complete: a reply or a callout with the answers; a flow.completed event is always sent to
// the client).
type Flow struct {
	Steps    []Step `json:"steps"`
	Complete Action `json:"complete"`
}

// Step asks one question.
type Step struct {
	ID     string `json:"id"`
	Prompt string `json:"prompt"`
	Expect Expect `json:"expect"`
	// Save names the answer in the flow's answers (default: the step's id); Contact also
	// writes it on the contact: name (first word as first name, the rest as last name),
	// first_name, last_name or business.
	Save    string `json:"save,omitempty"`
	Contact string `json:"contact,omitempty"`
	// Next is the step after this one (default: the next in the list; "end" completes the
	// flow); Branches choose it per answer of a choice.
	Next     string            `json:"next,omitempty"`
	Branches map[string]string `json:"branches,omitempty"`
	// Retries is how many invalid answers are re-prompted before the flow ends (default 2);
	// Reprompt is the text then ("" for the default, which repeats the prompt).
	Retries  *int   `json:"retries,omitempty"`
	Reprompt string `json:"reprompt,omitempty"`
}

// Expect is the answer a step takes: text (any, up to MaxLength characters), choice (one of
// Choices, case-insensitive), regex (Pattern matches the whole answer) or number (between Min
// and Max, when given).
type Expect struct {
	Type      string   `json:"type"`
	Choices   []string `json:"choices,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	MaxLength int      `json:"max_length,omitempty"`
}

// Expected answer types.
const (
	ExpectText   = "text"
	ExpectChoice = "choice"
	ExpectRegex  = "regex"
	ExpectNumber = "number"
)

// StepEnd as a step's Next completes the flow.
const StepEnd = "end"

// Service defaults and bounds.
const (
	DefaultSessionTTL     = time.Hour
	DefaultCalloutTimeout = 5 * time.Second
	DefaultStepRetries    = 2
	MaxCalloutTimeout     = 30 * time.Second
	maxServiceCommands    = 100
	maxFlowSteps          = 50
	maxServiceTextRunes   = 1600
)

// DefaultExitWords leave a flow when a service names none.
var DefaultExitWords = []string{"0", "EXIT"}

// serviceFields are the template fields a service's texts always have; answers may not take
// these names.
var serviceFields = map[string]bool{"phone": true, "firstname": true, "lastname": true, "business": true,
	"words": true, "menu": true, "to": true}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// SessionTTL is the spec's session lifetime.
func (s ServiceSpec) SessionTTL() time.Duration {
	if s.SessionTTLSeconds <= 0 {
		return DefaultSessionTTL
	}
	return time.Duration(s.SessionTTLSeconds) * time.Second
}

// Exits are the words that leave a flow.
func (s ServiceSpec) Exits() []string {
	if len(s.ExitWords) == 0 {
		return DefaultExitWords
	}
	return s.ExitWords
}

// CalloutTimeout is the action's timeout.
func (a Action) CalloutTimeout() time.Duration {
	if a.TimeoutMS <= 0 {
		return DefaultCalloutTimeout
	}
	return time.Duration(a.TimeoutMS) * time.Millisecond
}

// MaxRetries is the step's retries.
func (s Step) MaxRetries() int {
	if s.Retries == nil {
		return DefaultStepRetries
	}
	return *s.Retries
}

// SaveAs is the name of the step's answer.
func (s Step) SaveAs() string {
	if s.Save != "" {
		return s.Save
	}
	return s.ID
}

// Check validates a spec and fills the defaults of its commands; the error is a *FieldErr
// naming the field by its JSON path (commands[2].action.url, flows.register.steps[0].expect).
// checkURL, when not nil, checks a callout's URL (the SSRF guard).
func (s ServiceSpec) Check(checkURL func(string) error) (ServiceSpec, error) {
	if len(s.Commands) == 0 {
		return s, &FieldErr{"commands", "must hold at least one command"}
	}
	if len(s.Commands) > maxServiceCommands {
		return s, &FieldErr{"commands", fmt.Sprintf("at most %d commands", maxServiceCommands)}
	}
	seen := map[string]int{}
	for i := range s.Commands {
		c := &s.Commands[i]
		at := fmt.Sprintf("commands[%d]", i)
		c.Keyword = strings.TrimSpace(c.Keyword)
		if c.Keyword == "" || utf8.RuneCountInString(c.Keyword) > 32 || strings.ContainsAny(c.Keyword, " \t\r\n") {
			return s, &FieldErr{at + ".keyword", "must be one word of 1 to 32 characters, such as 1, BAL or JOIN"}
		}
		if err := notKeyword(at+".keyword", c.Keyword); err != nil {
			return s, err
		}
		if c.Match == "" {
			c.Match = MatchOnlyWord
		}
		if c.Match != MatchOnlyWord && c.Match != MatchFirstWord && c.Match != MatchPrefix {
			return s, &FieldErr{at + ".match", "must be only_word, first_word or prefix"}
		}
		key := strings.ToUpper(c.Keyword) + "/" + c.Match
		if j, dup := seen[key]; dup {
			return s, &FieldErr{at + ".keyword", fmt.Sprintf("repeats commands[%d] (keywords are case-insensitive)", j)}
		}
		seen[key] = i
		if err := checkText(at+".description", c.Description); err != nil {
			return s, err
		}
		if err := s.checkAction(at+".action", c.Action, true, checkURL); err != nil {
			return s, err
		}
	}
	for name, f := range s.Flows {
		if err := s.checkFlow(name, f, checkURL); err != nil {
			return s, err
		}
	}
	for _, t := range []struct{ field, v string }{{"invalid_reply", s.InvalidReply}, {"exit_reply", s.ExitReply}} {
		if err := checkText(t.field, t.v); err != nil {
			return s, err
		}
	}
	for i, w := range s.ExitWords {
		if strings.TrimSpace(w) == "" || strings.ContainsAny(strings.TrimSpace(w), " \t\r\n") {
			return s, &FieldErr{fmt.Sprintf("exit_words[%d]", i), "must be one word"}
		}
		if err := notKeyword(fmt.Sprintf("exit_words[%d]", i), w); err != nil {
			return s, err
		}
	}
	if s.SessionTTLSeconds < 0 || s.SessionTTLSeconds > 30*24*3600 {
		return s, &FieldErr{"session_ttl_seconds", "must be from 1 to 2592000 (0 or absent: 3600)"}
	}
	if r := s.RateLimit; r != nil && (r.PerMinute <= 0 || r.PerMinute > 6000 || r.Burst < 1 || r.Burst > 1000 ||
		r.PerMinute*24*60 < float64(r.Burst)) {
		return s, &FieldErr{"rate_limit", "burst must be from 1 to 1000, and per_minute at most 6000 and enough to refill the burst within a day (at least burst/1440)"}
	}
	return s, nil
}

func (s ServiceSpec) checkAction(at string, a Action, command bool, checkURL func(string) error) error {
	if err := checkText(at+".text", a.Text); err != nil {
		return err
	}
	if err := checkText(at+".fallback", a.Fallback); err != nil {
		return err
	}
	switch a.Type {
	case ActionReply:
		if strings.TrimSpace(a.Text) == "" {
			return &FieldErr{at + ".text", "a reply needs its text"}
		}
	case ActionCallout:
		if a.URL == "" {
			return &FieldErr{at + ".url", "a callout needs the URL of the client's endpoint"}
		}
		if checkURL != nil {
			if err := checkURL(a.URL); err != nil {
				return &FieldErr{at + ".url", err.Error()}
			}
		}
		if a.TimeoutMS < 0 || time.Duration(a.TimeoutMS)*time.Millisecond > MaxCalloutTimeout {
			return &FieldErr{at + ".timeout_ms", "must be from 1 to 30000 (absent: 5000)"}
		}
	case ActionFlow:
		if !command {
			return &FieldErr{at + ".type", "a flow ends with a reply or a callout"}
		}
		if _, ok := s.Flows[a.Flow]; !ok {
			return &FieldErr{at + ".flow", fmt.Sprintf("no flow is named %q in flows", a.Flow)}
		}
	case ActionSubscribe, ActionUnsubscribe:
		if !command {
			return &FieldErr{at + ".type", "a flow ends with a reply or a callout"}
		}
		if t := strings.TrimSpace(a.Tag); t == "" || utf8.RuneCountInString(t) > 64 {
			return &FieldErr{at + ".tag", "must name the contact tag (1 to 64 characters)"}
		}
	case "":
		if !command {
			return nil // a flow may end without a reply: its event says it is done
		}
		return &FieldErr{at + ".type", "must be reply, callout, flow, subscribe or unsubscribe"}
	default:
		if !command {
			return &FieldErr{at + ".type", "must be reply or callout (or absent)"}
		}
		return &FieldErr{at + ".type", "must be reply, callout, flow, subscribe or unsubscribe"}
	}
	return nil
}

func (s ServiceSpec) checkFlow(name string, f Flow, checkURL func(string) error) error {
	at := "flows." + name
	if !idPattern.MatchString(name) {
		return &FieldErr{at, "a flow's name is 1 to 64 letters, digits, _ or -"}
	}
	if len(f.Steps) == 0 || len(f.Steps) > maxFlowSteps {
		return &FieldErr{at + ".steps", fmt.Sprintf("must hold 1 to %d steps", maxFlowSteps)}
	}
	ids := map[string]bool{}
	for i, st := range f.Steps {
		sat := fmt.Sprintf("%s.steps[%d]", at, i)
		if !idPattern.MatchString(st.ID) || st.ID == StepEnd {
			return &FieldErr{sat + ".id", "a step's id is 1 to 64 letters, digits, _ or - (not \"end\")"}
		}
		if ids[st.ID] {
			return &FieldErr{sat + ".id", fmt.Sprintf("repeats step %q", st.ID)}
		}
		ids[st.ID] = true
	}
	for i, st := range f.Steps {
		sat := fmt.Sprintf("%s.steps[%d]", at, i)
		if strings.TrimSpace(st.Prompt) == "" {
			return &FieldErr{sat + ".prompt", "a step needs its prompt"}
		}
		for _, t := range []struct{ field, v string }{{".prompt", st.Prompt}, {".reprompt", st.Reprompt}} {
			if err := checkText(sat+t.field, t.v); err != nil {
				return err
			}
		}
		if err := st.Expect.check(sat + ".expect"); err != nil {
			return err
		}
		if key := st.SaveAs(); !idPattern.MatchString(key) || serviceFields[strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(key))] {
			return &FieldErr{sat + ".save", fmt.Sprintf("%q cannot name an answer (1 to 64 letters, digits, _ or -; not phone, first_name, last_name, business, words, menu or to)", key)}
		}
		switch st.Contact {
		case "", "name", "first_name", "last_name", "business":
		default:
			return &FieldErr{sat + ".contact", "must be name, first_name, last_name or business (or absent)"}
		}
		if st.Next != "" && st.Next != StepEnd && !ids[st.Next] {
			return &FieldErr{sat + ".next", fmt.Sprintf("no step %q in this flow", st.Next)}
		}
		if len(st.Branches) > 0 && st.Expect.Type != ExpectChoice {
			return &FieldErr{sat + ".branches", "only a choice step branches"}
		}
		for ans, next := range st.Branches {
			if !st.Expect.hasChoice(ans) {
				return &FieldErr{sat + ".branches", fmt.Sprintf("%q is not one of the step's choices", ans)}
			}
			if next != StepEnd && !ids[next] {
				return &FieldErr{sat + ".branches", fmt.Sprintf("no step %q in this flow", next)}
			}
		}
		if st.Retries != nil && (*st.Retries < 0 || *st.Retries > 10) {
			return &FieldErr{sat + ".retries", "must be from 0 to 10"}
		}
	}
	return s.checkAction(at+".complete", f.Complete, false, checkURL)
}

func (e Expect) check(at string) error {
	switch e.Type {
	case ExpectText, "":
		if e.MaxLength < 0 || e.MaxLength > maxServiceTextRunes {
			return &FieldErr{at + ".max_length", "must be from 1 to 1600 (absent: any)"}
		}
	case ExpectChoice:
		if len(e.Choices) == 0 {
			return &FieldErr{at + ".choices", "a choice needs its choices"}
		}
		for i, c := range e.Choices {
			if strings.TrimSpace(c) == "" {
				return &FieldErr{fmt.Sprintf("%s.choices[%d]", at, i), "must not be empty"}
			}
			if err := notKeyword(fmt.Sprintf("%s.choices[%d]", at, i), c); err != nil {
				return err
			}
		}
	case ExpectRegex:
		if _, err := regexp.Compile(e.Pattern); err != nil || e.Pattern == "" {
			return &FieldErr{at + ".pattern", "must be a regular expression (RE2 syntax)"}
		}
		if len(e.Pattern) > maxPatternBytes || patternSize(e.Pattern) > maxPatternInsts {
			return &FieldErr{at + ".pattern", fmt.Sprintf("too large: at most %d bytes, and simple enough to check an answer quickly (no large repeat counts)", maxPatternBytes)}
		}
	case ExpectNumber:
		if e.Min != nil && e.Max != nil && *e.Min > *e.Max {
			return &FieldErr{at + ".max", "must not be below min"}
		}
	default:
		return &FieldErr{at + ".type", "must be text, choice, regex or number"}
	}
	return nil
}

// hasChoice reports whether answer is one of the choices (case-insensitive), and which.
func (e Expect) hasChoice(answer string) bool { _, ok := e.Choice(answer); return ok }

// Choice returns the choice an answer names (as the step wrote it), case-insensitively.
func (e Expect) Choice(answer string) (string, bool) {
	for _, c := range e.Choices {
		if strings.EqualFold(strings.TrimSpace(c), strings.TrimSpace(answer)) {
			return c, true
		}
	}
	return "", false
}

// Bounds of a step's pattern: RE2 matches in time linear in the answer times the program, so
// the program is bounded too (a {1000} repeat makes a large one).
const (
	maxPatternBytes = 256
	maxPatternInsts = 2000
)

// patternSize is the size of a pattern's compiled program (instructions).
func patternSize(p string) int {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return maxPatternInsts + 1
	}
	return len(prog.Inst)
}

// notKeyword refuses a word that Ibiki's opt-out handling takes before any service (STOP,
// START, HELP and their synonyms): a service would never see it.
func notKeyword(field, word string) error {
	if action, _ := optout.Classify(word); action != optout.None {
		return &FieldErr{field, fmt.Sprintf("%q is an opt-out keyword (STOP, START, HELP and their synonyms such as UNSUBSCRIBE, CANCEL, END, QUIT, YES): Ibiki handles it before any service", strings.TrimSpace(word))}
	}
	return nil
}

func checkText(field, v string) error {
	if utf8.RuneCountInString(v) > maxServiceTextRunes {
		return &FieldErr{field, "at most 1600 characters"}
	}
	if !utf8.ValidString(v) {
		return &FieldErr{field, "must be UTF-8 text"}
	}
	return nil
}

// Step returns the flow's step named id.
func (f Flow) Step(id string) (Step, int, bool) {
	for i, s := range f.Steps {
		if s.ID == id {
			return s, i, true
		}
	}
	return Step{}, -1, false
}

// ServiceSession is where one phone is in a service: the flow and step it is in (none: it only
// keeps a callout's session), the answers so far, the retries used on the step, and the data a
// callout endpoint asked to keep. It ends at ExpiresAt.
type ServiceSession struct {
	ServiceID string            `json:"service_id"`
	Phone     string            `json:"phone"`
	Flow      string            `json:"flow,omitempty"`
	Step      string            `json:"step,omitempty"`
	Retries   int               `json:"retries,omitempty"`
	Answers   map[string]string `json:"answers,omitempty"`
	Data      json.RawMessage   `json:"data,omitempty"`
	ExpiresAt time.Time         `json:"expires_at"`
	// By is the message whose exchange wrote the session, Prev the session before it, and
	// Ended marks a session that message ended (Redis keeps them: its write comes before the
	// exchange commits, so a run of the same message again must start from Prev).
	By    string          `json:"by,omitempty"`
	Prev  *ServiceSession `json:"prev,omitempty"`
	Ended bool            `json:"ended,omitempty"`
}

// ServiceExchange is one inbound message a service took, and what it did (the exchange log).
type ServiceExchange struct {
	ID        string
	ServiceID string
	ClientID  string
	MessageID string
	Phone     string
	Input     string
	Command   string // the command's keyword, or ""
	Flow      string
	Step      string
	Handled   bool
	// Reason says why it was not handled, or how: command, flow_step, flow_completed,
	// flow_exit, retry, invalid, rate_limited, opted_out, no_credit...
	Reason        string
	Response      string
	ReplyID       string // the answer's message id, "" for none
	CalloutStatus int    // HTTP status of the callout, 0 for none, -1 for a failed call
	CalloutMS     int64
	CreatedAt     time.Time
}
