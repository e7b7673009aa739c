package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

// NumberVoiceOwner and ClientVoiceOwner name whose voice answer a row of voice_answers is.
func NumberVoiceOwner(number string) string { return "number:" + number }

// ClientVoiceOwner: see NumberVoiceOwner.
func ClientVoiceOwner(clientID string) string { return "client:" + clientID }

// VoiceAnswer returns the answer configured for owner (NumberVoiceOwner, ClientVoiceOwner), or
// ErrNotFound.
func (r reader) VoiceAnswer(ctx context.Context, owner string) (model.VoiceAnswer, error) {
	var raw string
	if err := r.queryRow(ctx, `SELECT answer FROM voice_answers WHERE owner = ?`, owner).Scan(&raw); err != nil {
		return model.VoiceAnswer{}, notFound(err, "voice answer of "+owner)
	}
	var a model.VoiceAnswer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return a, fmt.Errorf("stored voice answer of %s: %w", owner, err)
	}
	return a, nil
}

// CallAnswer returns how calls to number are answered: the number's own answer, else its
// client's (clientID, "" for a pool number), else model.DefaultVoiceAnswer.
func (r reader) CallAnswer(ctx context.Context, number, clientID string) (model.VoiceAnswer, error) {
	owners := []string{NumberVoiceOwner(number)}
	if clientID != "" {
		owners = append(owners, ClientVoiceOwner(clientID))
	}
	for _, o := range owners {
		a, err := r.VoiceAnswer(ctx, o)
		if !errors.Is(err, ErrNotFound) {
			return a, err
		}
	}
	return model.DefaultVoiceAnswer, nil
}

// SetVoiceAnswer stores owner's answer, replacing the one it had.
func (tx *Tx) SetVoiceAnswer(ctx context.Context, owner string, a model.VoiceAnswer, at time.Time) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO voice_answers (owner, answer, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (owner) DO UPDATE SET answer = excluded.answer, updated_at = excluded.updated_at`, owner, string(b), ms(at))
	return err
}

// DeleteVoiceAnswer removes owner's answer; one that had none is ErrNotFound.
func (tx *Tx) DeleteVoiceAnswer(ctx context.Context, owner string) error {
	return affected(tx.exec(ctx, `DELETE FROM voice_answers WHERE owner = ?`, owner))
}

// UpdateCall applies a report to the message that logs the call (the inbound message of the
// provider with the call's id). It returns the message as updated; a call Ibiki never logged
// is ErrNotFound. A recording already on the message is not added twice; a status once final
// (completed, busy, no-answer, failed, canceled) is not replaced.
func (tx *Tx) UpdateCall(ctx context.Context, providerName string, u model.CallUpdate) (model.Message, error) {
	lock := ""
	if tx.engine == Postgres {
		lock = " FOR UPDATE" // the call's reports come close together: each reads what the last wrote
	}
	m, err := scanMessage(tx.queryRow(ctx, `SELECT `+messageSelect+` FROM messages
		WHERE provider = ? AND provider_message_id = ? AND direction = 'inbound'`+lock, providerName, u.CallID))
	if err != nil {
		return m, notFound(err, "call "+u.CallID)
	}
	meta := map[string]any{}
	if m.Meta != "" {
		if err := json.Unmarshal([]byte(m.Meta), &meta); err != nil {
			return m, fmt.Errorf("meta of %s: %w", m.ID, err)
		}
	}
	if u.Status != "" && !finalCallStatus(fmt.Sprint(meta["call_status"])) {
		meta["call_status"] = u.Status
	}
	if u.DurationSeconds > 0 {
		meta["call_duration"] = u.DurationSeconds
	}
	if u.Recording != nil {
		if u.RecordingSeconds > 0 {
			meta["recording_duration"] = u.RecordingSeconds
		}
		known := false
		for _, a := range m.Media {
			known = known || a.URL == u.Recording.URL
		}
		if !known {
			m.Media = append(m.Media, *u.Recording)
		}
	}
	b, _ := json.Marshal(meta) // decoded from JSON, plus strings and numbers: always encodes
	m.Meta = string(b)
	if err := affected(tx.exec(ctx, `UPDATE messages SET meta = ?, media = ? WHERE id = ?`, m.Meta, model.EncodeMedia(m.Media), m.ID)); err != nil {
		return m, err
	}
	if m.ClientID != "" {
		tx.Announce(Announcement{ClientID: m.ClientID, Kind: "message", ConversationID: m.ConversationID, MessageID: m.ID})
	}
	return m, nil
}

// finalCallStatus: the statuses a call ends in (Twilio's names).
func finalCallStatus(s string) bool {
	switch s {
	case "completed", "busy", "no-answer", "failed", "canceled":
		return true
	}
	return false
}
