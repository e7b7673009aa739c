package dlt_test

import (
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/dlt"
	"github.com/ibiki/ibiki/internal/model"
)

func TestMatch(t *testing.T) {
	const otp = "Your OTP is {#var#}. Do not share it. - ACME"
	tests := []struct {
		name     string
		template string
		text     string
		want     bool
	}{
		{"the template's text with a value matches", otp, "Your OTP is 482913. Do not share it. - ACME", true},
		{"an empty value matches", otp, "Your OTP is . Do not share it. - ACME", true},
		{"30 characters in a placeholder match", otp, "Your OTP is " + strings.Repeat("9", 30) + ". Do not share it. - ACME", true},
		{"31 characters in a placeholder do not", otp, "Your OTP is " + strings.Repeat("9", 31) + ". Do not share it. - ACME", false},
		{"30 Devanagari characters match: runes, not bytes", otp, "Your OTP is " + strings.Repeat("क", 30) + ". Do not share it. - ACME", true},
		{"31 Devanagari characters do not", otp, "Your OTP is " + strings.Repeat("क", 31) + ". Do not share it. - ACME", false},
		{"30 emoji match", otp, "Your OTP is " + strings.Repeat("👋", 30) + ". Do not share it. - ACME", true},
		{"a changed literal does not match", otp, "Your OTP is 482913. Please do not share it. - ACME", false},
		{"case in the literal text counts", otp, "your OTP is 482913. Do not share it. - ACME", false},
		{"a missing end does not match", otp, "Your OTP is 482913.", false},
		{"text after the end does not match", otp, "Your OTP is 482913. Do not share it. - ACME!", false},
		{"text before the start does not match", otp, "Hi! Your OTP is 482913. Do not share it. - ACME", false},
		{"a template without placeholders matches only itself", "Welcome to ACME", "Welcome to ACME", true},
		{"and nothing else", "Welcome to ACME", "Welcome to ACME.", false},
		{"placeholders at both ends", "{#var#} owes {#var#}", "Asha owes Rs 500", true},
		{"placeholders at both ends, too long at the start", "{#var#} owes {#var#}", strings.Repeat("a", 31) + " owes Rs 500", false},
		{"a literal repeated inside a value: a later occurrence is found",
			"Dear {#var#}, pay {#var#} now", "Dear pay, pay Rs 10, pay now", true},
		{"the value may hold the next literal when the bound needs the later split",
			"{#var#}ab{#var#}c", "ab" + strings.Repeat("x", 20) + "ab" + strings.Repeat("y", 25) + "c", true},
		{"two adjacent placeholders take up to 60 characters", "A{#var#}{#var#}B", "A" + strings.Repeat("x", 60) + "B", true},
		{"but not 61", "A{#var#}{#var#}B", "A" + strings.Repeat("x", 61) + "B", false},
		{"regular expression syntax in the template is literal", "Pay (.*) [a-z]+ {#var#} $^|\\d", "Pay (.*) [a-z]+ 100 $^|\\d", true},
		{"and does not act as syntax", "Pay (.*) {#var#}", "Pay anything 100", false},
		{"typed placeholders match like var", "Visit {#url#} code {#numeric#}", "Visit https://a.in/x code 42", true},
		{"placeholder names ignore case", "Code {#VAR#}", "Code 42", true},
		{"an unknown {#name#} is literal", "Code {#foo#}", "Code {#foo#}", true},
		{"an unknown {#name#} is not a placeholder", "Code {#foo#}", "Code 42", false},
		{"line breaks are literal", "Hi {#var#},\nthanks", "Hi Asha,\nthanks", true},
		{"a value may hold a line break", "Hi {#var#}, thanks", "Hi Asha\nK, thanks", true},
		{"unicode literal text", "नमस्ते {#var#}, आपका OTP {#var#} है", "नमस्ते आशा, आपका OTP 1234 है", true},
		{"unicode literal text differs", "नमस्ते {#var#}, आपका OTP {#var#} है", "नमस्ते आशा, आपका OTP 1234 हैं", false},
		{"prefix and suffix may not overlap", "ab{#var#}ba", "aba", false},
		{"an empty template matches only an empty text", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dlt.Compile(tt.template).Match(tt.text); got != tt.want {
				t.Errorf("Compile(%q).Match(%q) = %v, want %v", tt.template, tt.text, got, tt.want)
			}
		})
	}
}

func TestMatchTakesBoundedTimeOnAdversarialTemplates(t *testing.T) {
	// Thirty placeholders separated by "a" against a long run of "a" that cannot end right: a
	// backtracking matcher without memory would try on the order of 31^30 splits.
	tpl := dlt.Compile(strings.Repeat("{#var#}a", 30) + "b")
	if tpl.Match(strings.Repeat("a", 900) + "c") {
		t.Fatal("matched a text that does not end with b")
	}
	if !tpl.Match(strings.Repeat("a", 900) + "b") {
		t.Fatal("did not match 30 runs of 29 a's and an a, then b")
	}
}

func TestFindReturnsTheFirstTemplateTheTextAndSenderMatch(t *testing.T) {
	ts := []model.DLTTemplate{
		{TemplateID: "1107000000000000001", Sender: "ACMEIN", Text: "Your balance is {#var#}"},
		{TemplateID: "1107000000000000002", Sender: "ACMEOT", Text: "Your OTP is {#var#}"},
		{TemplateID: "1107000000000000003", Sender: "ACMEIN", Text: "Your {#var#} is {#var#}"},
	}
	tests := []struct {
		name, text, sender, want string
	}{
		{"the first that matches wins", "Your balance is Rs 10", "", "1107000000000000001"},
		{"a later one when the first does not match", "Your OTP is 1234", "", "1107000000000000002"},
		{"the sender narrows the choice", "Your OTP is 1234", "ACMEIN", "1107000000000000003"},
		{"the sender compares without case", "Your OTP is 1234", "acmeot", "1107000000000000002"},
		{"nothing matches", "Hello", "", ""},
		{"nothing matches for this sender", "Your OTP is 1234", "OTHER1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := dlt.Find(ts, tt.text, tt.sender)
			if ok != (tt.want != "") || got.TemplateID != tt.want {
				t.Errorf("Find(%q, %q) = %q, %v; want %q", tt.text, tt.sender, got.TemplateID, ok, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ok := model.DLTTemplate{TemplateID: "1107161234567890123", EntityID: "1201159876543210987", Sender: "ACMEIN", Text: "OTP {#var#}"}
	tests := []struct {
		name  string
		edit  func(*model.DLTTemplate)
		field string
	}{
		{"a typical template is accepted", func(*model.DLTTemplate) {}, ""},
		{"a template id with letters is refused", func(t *model.DLTTemplate) { t.TemplateID = "11071612345678901X3" }, "template_id"},
		{"a short template id is refused", func(t *model.DLTTemplate) { t.TemplateID = "123" }, "template_id"},
		{"a 31-digit template id is refused", func(t *model.DLTTemplate) { t.TemplateID = strings.Repeat("1", 31) }, "template_id"},
		{"a missing entity id is refused", func(t *model.DLTTemplate) { t.EntityID = "" }, "entity_id"},
		{"a 2-character sender is refused", func(t *model.DLTTemplate) { t.Sender = "AC" }, "sender"},
		{"a sender with a space is refused", func(t *model.DLTTemplate) { t.Sender = "ACME IN" }, "sender"},
		{"a numeric sender is accepted", func(t *model.DLTTemplate) { t.Sender = "567676" }, ""},
		{"a blank text is refused", func(t *model.DLTTemplate) { t.Text = "  " }, "text"},
		{"31 placeholders are refused", func(t *model.DLTTemplate) { t.Text = strings.Repeat("{#var#} ", 31) }, "text"},
		{"a text too long is refused", func(t *model.DLTTemplate) { t.Text = strings.Repeat("a", dlt.MaxTextRunes+1) }, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := ok
			tt.edit(&tpl)
			err := dlt.Check(tpl)
			var fe *dlt.FieldError
			if tt.field == "" && err != nil || tt.field != "" && (err == nil || !asField(err, &fe) || fe.Field != tt.field) {
				t.Errorf("Check = %v, want field %q", err, tt.field)
			}
		})
	}
}

func asField(err error, fe **dlt.FieldError) bool {
	f, ok := err.(*dlt.FieldError)
	*fe = f
	return ok
}
