package services

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

func intp(n int) *int           { return &n }
func floatp(f float64) *float64 { return &f }

// quiz is a service with every kind of step: a choice that branches, a number range, a regex
// with a custom re-prompt and no retries, and a final callout.
func quiz(t *testing.T) model.Service {
	t.Helper()
	spec := model.ServiceSpec{
		Commands: []model.Command{
			{Keyword: "QUIZ", Description: "Play", Action: model.Action{Type: model.ActionFlow, Flow: "quiz"}},
			{Keyword: "HI", Action: model.Action{Type: model.ActionReply, Text: "Hello [firstname|friend], you wrote to [to]."}},
			{Keyword: "ECHO", Match: model.MatchFirstWord, Action: model.Action{Type: model.ActionReply, Text: "You said: [words]"}},
			{Keyword: "PIN", Match: model.MatchPrefix, Action: model.Action{Type: model.ActionReply, Text: "PIN [words]"}},
			{Keyword: "NEED", Action: model.Action{Type: model.ActionReply, Text: "Dear [lastname]"}},
		},
		Flows: map[string]model.Flow{"quiz": {
			Steps: []model.Step{
				{ID: "kind", Prompt: "Cats or dogs?", Expect: model.Expect{Type: model.ExpectChoice, Choices: []string{"Cats", "Dogs"}},
					Branches: map[string]string{"Dogs": "age"}, Next: "code"},
				{ID: "code", Prompt: "Your code (3 letters)?", Expect: model.Expect{Type: model.ExpectRegex, Pattern: "[A-Z]{3}"},
					Retries: intp(0), Reprompt: "Three capital letters, please.", Next: model.StepEnd},
				{ID: "age", Prompt: "Age of your dog?", Expect: model.Expect{Type: model.ExpectNumber, Min: floatp(0), Max: floatp(30)}},
			},
			Complete: model.Action{Type: model.ActionCallout, URL: "https://example.com/quiz", Text: "Done, [kind]!", Fallback: "Saved."},
		}},
	}
	spec, err := spec.Check(nil)
	if err != nil {
		t.Fatal(err)
	}
	return model.Service{ID: "svc_1", Number: "57675", Active: true, Spec: spec}
}

// run feeds texts to the service one after another, carrying the session, and returns the
// decisions.
func run(svc model.Service, now time.Time, texts ...string) []Decision {
	var sess *model.ServiceSession
	var out []Decision
	for _, text := range texts {
		d := Decide(svc, Input{Text: text, Phone: "+15550001111", To: svc.Number, Session: sess, Now: now})
		sess = d.Session
		out = append(out, d)
	}
	return out
}

func TestCommandsMatchByMode(t *testing.T) {
	svc := quiz(t)
	now := time.Now()
	for _, tc := range []struct {
		text, reply, command string
		handled              bool
	}{
		{"hi", "Hello friend, you wrote to 57675.", "HI", true},
		{"  Hi  ", "Hello friend, you wrote to 57675.", "HI", true},
		{"hi there", "Sorry, that is not an option. Reply with: QUIZ Play, HI, ECHO, PIN, NEED", "", false},
		{"echo a  b", "You said: a b", "ECHO", true},
		{"echo", "", "ECHO", false}, // [words] is empty and has no default: no answer
		{"pin1234", "PIN 1234", "PIN", true},
		{"PIN 99", "PIN 99", "PIN", true},
		{"", "Sorry, that is not an option. Reply with: QUIZ Play, HI, ECHO, PIN, NEED", "", false},
	} {
		d := run(svc, now, tc.text)[0]
		if d.Reply != tc.reply || d.Command != tc.command || d.Handled != tc.handled {
			t.Errorf("%q: reply %q command %q handled %v", tc.text, d.Reply, d.Command, d.Handled)
		}
	}
	if d := run(svc, now, "need")[0]; d.Reply != "" || d.Reason != ReasonTemplate || d.Handled {
		t.Errorf("a text that does not render is no answer: %+v", d)
	}
	silent := svc
	silent.Spec.SilentInvalid = true
	if d := run(silent, now, "nope")[0]; d.Reply != "" || d.Reason != ReasonInvalid {
		t.Errorf("silent service answered %+v", d)
	}
}

func TestFlowsBranchRetryAndComplete(t *testing.T) {
	svc := quiz(t)
	now := time.Now()
	t.Run("dogs branch to a number step, out of range re-prompts", func(t *testing.T) {
		ds := run(svc, now, "quiz", "DOGS", "45", "4")
		if ds[0].Reply != "Cats or dogs?" || ds[1].Reply != "Age of your dog?" || ds[1].Session.Step != "age" {
			t.Fatalf("%q / %q", ds[0].Reply, ds[1].Reply)
		}
		if ds[2].Reason != ReasonRetry || ds[2].Reply != "Sorry, that answer is not valid. Age of your dog?" || ds[2].Session.Retries != 1 {
			t.Fatalf("retry %+v", ds[2])
		}
		last := ds[3]
		if last.Reason != ReasonFlowCompleted || last.Session != nil || last.Completed == nil || last.Callout == nil {
			t.Fatalf("completion %+v", last)
		}
		if a := last.Completed.Answers; a["kind"] != "Dogs" || a["age"] != "4" {
			t.Errorf("answers %v (a choice is stored as the step wrote it)", a)
		}
		if last.Reply != "Done, Dogs!" || last.Callout.Fallback != "Saved." || last.Callout.Body.Flow != "quiz" || last.Callout.Body.Answers["age"] != "4" {
			t.Errorf("callout %+v reply %q", last.Callout, last.Reply)
		}
	})
	t.Run("cats go on by next; no retries ends the flow", func(t *testing.T) {
		ds := run(svc, now, "quiz", "cats", "abc")
		if ds[1].Reply != "Your code (3 letters)?" {
			t.Fatalf("after cats %q", ds[1].Reply)
		}
		if ds[2].Reason != ReasonRetriesExhausted || ds[2].Session != nil || !strings.HasPrefix(ds[2].Reply, "Too many invalid answers.") {
			t.Fatalf("no retries %+v", ds[2])
		}
		if ds := run(svc, now, "quiz", "cats", "ABC"); ds[2].Reason != ReasonFlowCompleted {
			t.Fatalf("the regex matches the whole answer: %+v", ds[2])
		}
	})
	t.Run("exit words leave; a custom exit word and reply", func(t *testing.T) {
		ds := run(svc, now, "quiz", "0")
		if ds[1].Reason != ReasonFlowExit || ds[1].Session != nil || !strings.HasPrefix(ds[1].Reply, "You left.") {
			t.Fatalf("exit %+v", ds[1])
		}
		custom := svc
		custom.Spec.ExitWords, custom.Spec.ExitReply = []string{"STOPQUIZ"}, "Bye."
		if ds := run(custom, now, "quiz", "stopquiz"); ds[1].Reply != "Bye." {
			t.Fatalf("custom exit %+v", ds[1])
		}
		if ds := run(custom, now, "quiz", "exit"); ds[1].Reason != ReasonRetry {
			t.Fatalf("EXIT is an answer when the service names other exit words: %+v", ds[1])
		}
	})
	t.Run("a session whose flow is gone starts afresh", func(t *testing.T) {
		sess := &model.ServiceSession{ServiceID: svc.ID, Flow: "gone", Step: "x", ExpiresAt: now.Add(time.Hour)}
		if d := Decide(svc, Input{Text: "hi", Session: sess, Now: now}); d.Command != "HI" {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("a number step takes decimals only", func(t *testing.T) {
		for _, tc := range []struct {
			answer string
			ok     bool
		}{{"4", true}, {"4.5", true}, {"+3", true}, {"1,000", false}, {"NaN", false}, {"Inf", false}, {"0x1p3", false}, {"1e1", false}, {"four", false}} {
			ds := run(svc, now, "quiz", "dogs", tc.answer)
			if got := ds[2].Reason == ReasonFlowCompleted; got != tc.ok {
				t.Errorf("%q: completed %v (%s)", tc.answer, got, ds[2].Reason)
			}
		}
	})
	t.Run("the session lives its TTL from the last message", func(t *testing.T) {
		ds := run(svc, now, "quiz")
		if got := ds[0].Session.ExpiresAt; !got.Equal(now.Add(time.Hour)) {
			t.Fatalf("expires %v", got)
		}
	})
}

func TestNameAnswersFillTheContact(t *testing.T) {
	spec, err := model.ServiceSpec{
		Commands: []model.Command{{Keyword: "1", Action: model.Action{Type: model.ActionFlow, Flow: "register"}}},
		Flows: map[string]model.Flow{"register": {Steps: []model.Step{{ID: "name", Prompt: "Name?", Expect: model.Expect{Type: model.ExpectText}, Contact: "name"}},
			Complete: model.Action{Type: model.ActionReply, Text: "Thanks [firstname]! ([lastname|-])"}}},
	}.Check(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := model.Service{ID: "s", Spec: spec}
	ds := run(svc, time.Now(), "1", "  Asha   Devi  Verma ")
	d := ds[1]
	if d.Reply != "Thanks Asha! (Devi Verma)" || d.Contact.FirstName != "Asha" || d.Contact.LastName != "Devi Verma" ||
		strings.Join(d.ContactFields, ",") != "first_name,last_name" {
		t.Fatalf("%+v", d)
	}
	if d := run(svc, time.Now(), "1", "Asha")[1]; d.Reply != "Thanks Asha! (-)" {
		t.Fatalf("one word: %q", d.Reply)
	}
	if d := run(svc, time.Now(), "1", "Asha "+strings.Repeat("x", 300))[1]; len([]rune(d.Contact.LastName)) != 256 {
		t.Fatalf("a name is cut to the book's bound: %d characters", len([]rune(d.Contact.LastName)))
	}
}

// A spec's errors name the field by its path.
func TestSpecErrorsNameTheField(t *testing.T) {
	ok := func() model.ServiceSpec {
		return model.ServiceSpec{
			Commands: []model.Command{{Keyword: "1", Action: model.Action{Type: model.ActionFlow, Flow: "f"}}},
			Flows: map[string]model.Flow{"f": {Steps: []model.Step{
				{ID: "a", Prompt: "A?", Expect: model.Expect{Type: model.ExpectChoice, Choices: []string{"x", "y"}}},
				{ID: "b", Prompt: "B?", Expect: model.Expect{Type: model.ExpectText}},
			}}},
		}
	}
	if _, err := ok().Check(nil); err != nil {
		t.Fatalf("the base spec: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*model.ServiceSpec)
	}{
		{"commands", func(s *model.ServiceSpec) { s.Commands = nil }},
		{"commands[0].keyword", func(s *model.ServiceSpec) { s.Commands[0].Keyword = "two words" }},
		{"commands[0].match", func(s *model.ServiceSpec) { s.Commands[0].Match = "regex" }},
		{"commands[1].keyword", func(s *model.ServiceSpec) {
			s.Commands = append(s.Commands, model.Command{Keyword: "1", Action: model.Action{Type: model.ActionReply, Text: "x"}})
		}},
		{"commands[0].action.flow", func(s *model.ServiceSpec) { s.Commands[0].Action.Flow = "nope" }},
		{"commands[0].action.type", func(s *model.ServiceSpec) { s.Commands[0].Action.Type = "email" }},
		{"commands[0].action.text", func(s *model.ServiceSpec) { s.Commands[0].Action = model.Action{Type: model.ActionReply} }},
		{"commands[0].action.url", func(s *model.ServiceSpec) { s.Commands[0].Action = model.Action{Type: model.ActionCallout} }},
		{"commands[0].action.timeout_ms", func(s *model.ServiceSpec) {
			s.Commands[0].Action = model.Action{Type: model.ActionCallout, URL: "https://x", TimeoutMS: 60000}
		}},
		{"commands[0].action.tag", func(s *model.ServiceSpec) { s.Commands[0].Action = model.Action{Type: model.ActionSubscribe} }},
		{"flows.f.steps[1].id", func(s *model.ServiceSpec) { s.Flows["f"].Steps[1].ID = "a" }},
		{"flows.f.steps[0].prompt", func(s *model.ServiceSpec) { s.Flows["f"].Steps[0].Prompt = " " }},
		{"flows.f.steps[0].expect.choices", func(s *model.ServiceSpec) { s.Flows["f"].Steps[0].Expect.Choices = nil }},
		{"flows.f.steps[1].expect.pattern", func(s *model.ServiceSpec) { s.Flows["f"].Steps[1].Expect = model.Expect{Type: "regex", Pattern: "("} }},
		{"flows.f.steps[1].expect.max", func(s *model.ServiceSpec) {
			s.Flows["f"].Steps[1].Expect = model.Expect{Type: "number", Min: floatp(5), Max: floatp(1)}
		}},
		{"flows.f.steps[1].expect.type", func(s *model.ServiceSpec) { s.Flows["f"].Steps[1].Expect.Type = "date" }},
		{"flows.f.steps[0].next", func(s *model.ServiceSpec) { s.Flows["f"].Steps[0].Next = "c" }},
		{"flows.f.steps[0].branches", func(s *model.ServiceSpec) { s.Flows["f"].Steps[0].Branches = map[string]string{"z": "b"} }},
		{"flows.f.steps[1].branches", func(s *model.ServiceSpec) { s.Flows["f"].Steps[1].Branches = map[string]string{"z": "b"} }},
		{"flows.f.steps[1].save", func(s *model.ServiceSpec) { s.Flows["f"].Steps[1].Save = "first_name" }},
		{"flows.f.steps[1].contact", func(s *model.ServiceSpec) { s.Flows["f"].Steps[1].Contact = "email" }},
		{"flows.f.steps[1].retries", func(s *model.ServiceSpec) { s.Flows["f"].Steps[1].Retries = intp(11) }},
		{"flows.f.complete.type", func(s *model.ServiceSpec) {
			f := s.Flows["f"]
			f.Complete = model.Action{Type: model.ActionFlow, Flow: "f"}
			s.Flows["f"] = f
		}},
		{"flows.f.steps", func(s *model.ServiceSpec) { s.Flows["f"] = model.Flow{} }},
		{"exit_words[0]", func(s *model.ServiceSpec) { s.ExitWords = []string{" "} }},
		{"session_ttl_seconds", func(s *model.ServiceSpec) { s.SessionTTLSeconds = -1 }},
		{"rate_limit", func(s *model.ServiceSpec) { s.RateLimit = &model.RateLimit{PerMinute: 5} }},
		{"rate_limit", func(s *model.ServiceSpec) { s.RateLimit = &model.RateLimit{PerMinute: 0.001, Burst: 3} }}, // days to refill
		{"invalid_reply", func(s *model.ServiceSpec) { s.InvalidReply = strings.Repeat("x", 1601) }},
		// Opt-out words never reach a service: they cannot be its words.
		{"commands[0].keyword", func(s *model.ServiceSpec) { s.Commands[0].Keyword = "unsubscribe" }},
		{"flows.f.steps[0].expect.choices[1]", func(s *model.ServiceSpec) { s.Flows["f"].Steps[0].Expect.Choices = []string{"NO", "YES"} }},
		{"exit_words[0]", func(s *model.ServiceSpec) { s.ExitWords = []string{"END"} }},
		// A pattern whose program is large would make every answer slow to check.
		{"flows.f.steps[1].expect.pattern", func(s *model.ServiceSpec) {
			s.Flows["f"].Steps[1].Expect = model.Expect{Type: "regex", Pattern: `(?:\pL?){1000}`}
		}},
		{"flows.f.steps[1].expect.pattern", func(s *model.ServiceSpec) {
			s.Flows["f"].Steps[1].Expect = model.Expect{Type: "regex", Pattern: strings.Repeat("a", 257)}
		}},
	} {
		spec := ok()
		// Flows hold steps by value in a map: copy the flow's steps so that edits do not leak.
		f := spec.Flows["f"]
		f.Steps = append([]model.Step(nil), f.Steps...)
		spec.Flows["f"] = f
		tc.edit(&spec)
		_, err := spec.Check(nil)
		var fe *model.FieldErr
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
	t.Run("the callout URL goes through the caller's check", func(t *testing.T) {
		spec := ok()
		spec.Commands[0].Action = model.Action{Type: model.ActionCallout, URL: "http://10.0.0.1/x"}
		_, err := spec.Check(func(string) error { return errors.New("private address") })
		var fe *model.FieldErr
		if !errors.As(err, &fe) || fe.Field != "commands[0].action.url" || !strings.Contains(fe.Reason, "private") {
			t.Fatalf("%v", err)
		}
	})
}

// The docs' example parses into a spec that passes its checks.
func TestTheDocsExampleIsAValidSpec(t *testing.T) {
	var spec model.ServiceSpec
	b := mustRead(t, "../../docs/examples/short-code-service.json")
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Check(nil); err != nil {
		t.Fatal(err)
	}
}

func TestTokenBucketRefill(t *testing.T) {
	now := time.Now()
	perMS := 6.0 / 60000 // 6 a minute: one every 10 s
	if got := refill(0, now, false, 3, perMS, now); got != 3 {
		t.Errorf("a new bucket is full: %v", got)
	}
	if got := refill(0, now.Add(-10*time.Second), true, 3, perMS, now); got < 0.999 || got > 1.001 {
		t.Errorf("10 s give one token back: %v", got)
	}
	if got := refill(2.5, now.Add(-time.Hour), true, 3, perMS, now); got != 3 {
		t.Errorf("never above the burst: %v", got)
	}
	if got := refill(1, now.Add(time.Minute), true, 3, perMS, now); got != 1 {
		t.Errorf("a clock that went back gives nothing: %v", got)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
