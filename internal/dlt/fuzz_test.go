package dlt_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/dlt"
)

// FuzzMatch holds Match to a regular expression built from the same template with its literal
// parts quoted (the oracle; Match itself builds none), and checks that a template's text with
// short enough values always matches.
func FuzzMatch(f *testing.F) {
	f.Add("Your OTP is {#var#}. - ACME", "482913", "Your OTP is 482913. - ACME")
	f.Add("{#var#}ab{#var#}", "xab", "xxabyyab")
	f.Add("नमस्ते {#var#} (.*)", "आशा", "नमस्ते आशा (.*)")
	f.Add("{#numeric#}{#VAR#}{#foo#}", "", "{#foo#}")
	f.Fuzz(func(t *testing.T, template, value, text string) {
		if !utf8.ValidString(template) || !utf8.ValidString(text) || len(template) > 200 || len(text) > 400 {
			return // bodies and templates are checked text; keep the oracle's inputs valid
		}
		tpl := dlt.Compile(template)
		if tpl.Vars() > 8 {
			return
		}
		if got, want := tpl.Match(text), oracle(template).MatchString(text); got != want {
			t.Fatalf("Compile(%q).Match(%q) = %v, the quoted regular expression says %v", template, text, got, want)
		}
		if utf8.ValidString(value) && utf8.RuneCountInString(value) <= dlt.MaxVarRunes {
			filled := fill(template, value)
			if !tpl.Match(filled) {
				t.Fatalf("Compile(%q) does not match its own text with %q: %q", template, value, filled)
			}
		}
	})
}

var placeholder = regexp.MustCompile(`(?i)\{#(var|numeric|alphanumeric|url|urlott|cbn|email)#\}`)

func oracle(template string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^`)
	last := 0
	for _, loc := range placeholder.FindAllStringIndex(template, -1) {
		b.WriteString(regexp.QuoteMeta(template[last:loc[0]]))
		b.WriteString(`(?s:.{0,30})`)
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(template[last:]) + `$`)
	return regexp.MustCompile(b.String())
}

func fill(template, value string) string {
	return placeholder.ReplaceAllLiteralString(template, value)
}
