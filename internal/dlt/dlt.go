// Package dlt matches message texts to DLT templates, the texts India's telecom operators
// approve for commercial SMS on their Distributed Ledger Technology platforms: a template is
// literal text with placeholders ("{#var#}"), and a message matches it when it is that text
// with each placeholder replaced by up to MaxVarRunes characters. Sends that name a template
// are held to it, and the template's ids travel with the message to providers that need them.
//
// Matching is exact for the literal text (case, spaces, punctuation and line breaks count, as
// the operators' scrubbing does), counts placeholders' lengths in characters (runes), not
// bytes, and lets a placeholder be empty: operators accept an empty variable, and a client
// whose text leaves one out would otherwise be refused for what its provider would take. No
// regular expression is built from a template, so nothing in a template's text is syntax.
package dlt

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/model"
)

// Limits of templates and their placeholders.
const (
	// MaxVarRunes is the most characters one placeholder stands for (TRAI's rule).
	MaxVarRunes = 30
	// MaxVars is the most placeholders a template may have.
	MaxVars = 30
	// MaxTextRunes bounds a template's text (ten GSM-7 segments are 1,530 characters).
	MaxTextRunes = 2000
)

// placeholderNames are the placeholders a template may use, between "{#" and "#}": "var", the
// one of the contract, and the typed variables of the DLT portals, all matched alike (any
// characters, up to MaxVarRunes). Case does not matter ("{#VAR#}" is a placeholder too).
var placeholderNames = []string{"var", "numeric", "alphanumeric", "url", "urlott", "cbn", "email"}

// Template is a template's text compiled for matching: the literal texts around its
// placeholders, one more than the placeholders.
type Template struct {
	lits []string
}

// Compile splits a template's text into its literal parts and placeholders. Any text compiles:
// a "{#" that starts no known placeholder is literal text.
func Compile(text string) Template {
	var (
		lits []string
		cur  strings.Builder
	)
	rest := text
	for {
		i := strings.Index(rest, "{#")
		if i < 0 {
			cur.WriteString(rest)
			break
		}
		n := placeholderLen(rest[i:])
		if n == 0 {
			cur.WriteString(rest[:i+2])
			rest = rest[i+2:]
			continue
		}
		cur.WriteString(rest[:i])
		lits = append(lits, cur.String())
		cur.Reset()
		rest = rest[i+n:]
	}
	return Template{lits: append(lits, cur.String())}
}

// placeholderLen is the length of the placeholder s starts with, 0 for none.
func placeholderLen(s string) int {
	for _, name := range placeholderNames {
		n := 2 + len(name) + 2
		if len(s) >= n && strings.EqualFold(s[2:2+len(name)], name) && s[2+len(name):n] == "#}" {
			return n
		}
	}
	return 0
}

// Vars is the number of placeholders.
func (t Template) Vars() int { return len(t.lits) - 1 }

// Match reports whether s is the template's text with each placeholder replaced by at most
// MaxVarRunes characters (none included). Its cost is bounded by the placeholders times the
// length of s, whatever the template: a failed attempt at a position is never tried again.
func (t Template) Match(s string) bool {
	if len(t.lits) == 0 {
		return false // the zero Template matches nothing
	}
	first, last := t.lits[0], t.lits[len(t.lits)-1]
	if len(t.lits) == 1 {
		return s == first
	}
	if !strings.HasPrefix(s, first) || !strings.HasSuffix(s[len(first):], last) {
		return false
	}
	m := matcher{s: s[len(first) : len(s)-len(last)], lits: t.lits[1 : len(t.lits)-1]}
	return m.from(0, 0)
}

// matcher matches the middle of a text (between the first and last literals) to the middle of
// a template: a placeholder, then each literal of lits followed by a placeholder.
type matcher struct {
	s      string
	lits   []string
	failed []bool // by k*(len(s)+1)+pos: no match from pos for lits[k:]; made on the first failure
}

// from reports whether s[pos:] is a placeholder followed by lits[k:], each with its placeholder.
func (m *matcher) from(pos, k int) bool {
	if k == len(m.lits) {
		return utf8.RuneCountInString(m.s[pos:]) <= MaxVarRunes
	}
	key := k*(len(m.s)+1) + pos
	if m.failed != nil && m.failed[key] {
		return false
	}
	lit := m.lits[k]
	p := pos
	for n := 0; n <= MaxVarRunes && p <= len(m.s); n++ {
		if strings.HasPrefix(m.s[p:], lit) && m.from(p+len(lit), k+1) {
			return true
		}
		if p == len(m.s) {
			break
		}
		_, size := utf8.DecodeRuneInString(m.s[p:])
		p += size
	}
	if m.failed == nil {
		m.failed = make([]bool, len(m.lits)*(len(m.s)+1))
	}
	m.failed[key] = true
	return false
}

// Find returns the first of templates that text matches and, when sender is not "", that was
// approved for that sender (compared without regard to case). It is how an automatic reply of
// a client that requires DLT finds its template: none found, the reply is not sent.
func Find(templates []model.DLTTemplate, text, sender string) (model.DLTTemplate, bool) {
	for _, t := range templates {
		if SenderMatches(t, sender) && Compile(t.Text).Match(text) {
			return t, true
		}
	}
	return model.DLTTemplate{}, false
}

// SenderMatches reports whether a template may be sent from sender: "" is any sender, as is a
// template without one.
func SenderMatches(t model.DLTTemplate, sender string) bool {
	return sender == "" || t.Sender == "" || strings.EqualFold(t.Sender, sender)
}

// FieldError is a template field that cannot be registered.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Check validates a template before it is registered: template_id and entity_id are DLT ids
// (10 to 30 digits; the platforms issue 19), sender a header of 3 to 11 letters and digits
// (6 in practice), and the text non-empty, at most MaxTextRunes characters, with at most
// MaxVars placeholders.
func Check(t model.DLTTemplate) error {
	if !digits(t.TemplateID, 10, 30) {
		return &FieldError{"template_id", "template_id must be the DLT template id: 10 to 30 digits"}
	}
	if !digits(t.EntityID, 10, 30) {
		return &FieldError{"entity_id", "entity_id must be the DLT principal entity id: 10 to 30 digits"}
	}
	if !header(t.Sender) {
		return &FieldError{"sender", "sender must be the DLT header: 3 to 11 letters and digits"}
	}
	switch n := utf8.RuneCountInString(t.Text); {
	case strings.TrimSpace(t.Text) == "":
		return &FieldError{"text", "text is required"}
	case n > MaxTextRunes:
		return &FieldError{"text", fmt.Sprintf("text must be at most %d characters", MaxTextRunes)}
	}
	if Compile(t.Text).Vars() > MaxVars {
		return &FieldError{"text", fmt.Sprintf("text may have at most %d placeholders", MaxVars)}
	}
	return nil
}

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func header(s string) bool {
	if len(s) < 3 || len(s) > 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
