package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// VoiceAction is what happens to a phone call that comes in on a number.
type VoiceAction string

// Voice actions.
const (
	// VoiceSay says Text and hangs up.
	VoiceSay VoiceAction = "say"
	// VoiceForward says Text (when set), then connects the call to ForwardTo.
	VoiceForward VoiceAction = "forward"
	// VoiceVoicemail says Text (a prompt; a default one when empty), records a message of at
	// most MaxSeconds after the beep, and adds the recording to the call's message.
	VoiceVoicemail VoiceAction = "voicemail"
)

// Limits of a VoiceAnswer.
const (
	MaxVoiceTextRunes       = 1000
	DefaultVoicemailSeconds = 120
	MaxVoicemailSeconds     = 3600
)

// DefaultVoicemailPrompt is said before the beep when a voicemail answer names no prompt.
const DefaultVoicemailPrompt = "Please leave a message after the beep."

// DefaultVoiceAnswer is the answer of a number for which nobody configured one: the caller is
// told to write instead, and the call is still logged.
var DefaultVoiceAnswer = VoiceAnswer{Action: VoiceSay, Text: "Sorry, this number does not take calls. Please send a text message instead."}

// VoiceAnswer is how a number answers calls: configured for the number, else for its client,
// else DefaultVoiceAnswer.
type VoiceAnswer struct {
	Action     VoiceAction `json:"action"`
	Text       string      `json:"text,omitempty"`
	ForwardTo  string      `json:"forward_to,omitempty"`
	MaxSeconds int         `json:"max_seconds,omitempty"`
	// Language is the voice's language, as the provider names it ("en-US", "fr-FR"); "" is the
	// provider's default.
	Language string `json:"language,omitempty"`
}

// Check validates an answer and fills its defaults. ForwardTo must already be in E.164 (the
// caller normalises it with the region it knows).
func (a VoiceAnswer) Check() (VoiceAnswer, error) {
	if utf8.RuneCountInString(a.Text) > MaxVoiceTextRunes {
		return a, &FieldErr{"text", fmt.Sprintf("must be at most %d characters", MaxVoiceTextRunes)}
	}
	if len(a.Language) > 16 || strings.ContainsAny(a.Language, "<>&\"' ") {
		return a, &FieldErr{"language", "must be a language tag such as en-US"}
	}
	switch a.Action {
	case VoiceSay:
		if strings.TrimSpace(a.Text) == "" {
			return a, &FieldErr{"text", "is required to say something"}
		}
		if a.ForwardTo != "" || a.MaxSeconds != 0 {
			return a, &FieldErr{"action", "say takes only text and language"}
		}
	case VoiceForward:
		if !strings.HasPrefix(a.ForwardTo, "+") {
			return a, &FieldErr{"forward_to", "is required: the E.164 number calls are connected to"}
		}
		if a.MaxSeconds != 0 {
			return a, &FieldErr{"max_seconds", "is for voicemail"}
		}
	case VoiceVoicemail:
		if a.ForwardTo != "" {
			return a, &FieldErr{"forward_to", "is for forward"}
		}
		if a.MaxSeconds == 0 {
			a.MaxSeconds = DefaultVoicemailSeconds
		}
		if a.MaxSeconds < 1 || a.MaxSeconds > MaxVoicemailSeconds {
			return a, &FieldErr{"max_seconds", fmt.Sprintf("must be from 1 to %d", MaxVoicemailSeconds)}
		}
		if strings.TrimSpace(a.Text) == "" {
			a.Text = DefaultVoicemailPrompt
		}
	case "":
		return a, &FieldErr{"action", "is required: say, forward or voicemail"}
	default:
		return a, &FieldErr{"action", fmt.Sprintf("%q is not one of say, forward, voicemail", a.Action)}
	}
	return a, nil
}

// CallInfo is what a call's message knows of the call, kept in its Meta: the provider's last
// call status, how long it lasted, and how long its voicemail is (the recording itself is the
// message's medium).
type CallInfo struct {
	Kind             string `json:"kind"` // "call"
	Status           string `json:"call_status,omitempty"`
	DurationSeconds  int    `json:"call_duration,omitempty"`
	RecordingSeconds int    `json:"recording_duration,omitempty"`
}

// DecodeCallInfo reads a call's Meta; ok is false when the message is not a call.
func DecodeCallInfo(meta string) (info CallInfo, ok bool) {
	if !strings.Contains(meta, `"kind":"call"`) {
		return info, false
	}
	if err := json.Unmarshal([]byte(meta), &info); err != nil || info.Kind != "call" {
		return CallInfo{}, false
	}
	return info, true
}

// Encode is the Meta of a call's message.
func (c CallInfo) Encode() string {
	c.Kind = "call"
	b, _ := json.Marshal(c) // strings and numbers: always encodes
	return string(b)
}

// CallUpdate is what a provider reports later about a call it posted: its status and length,
// and its voicemail.
type CallUpdate struct {
	CallID           string // the provider's id of the call (Twilio's CallSid)
	Status           string // the provider's call status; "" when the report says none
	DurationSeconds  int
	Recording        *Attachment
	RecordingSeconds int
}
