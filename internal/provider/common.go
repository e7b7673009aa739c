package provider

import "github.com/ibiki/ibiki/internal/model"

// Limits on the optional text fields every inbound shape has: generous for real data, small
// enough that a hostile or broken sender cannot store kilobytes per field.
const (
	MaxNameRunes      = 256
	MaxBlockWordRunes = 64
	MaxIDRunes        = 128
)

// Names are one provider's JSON names for the fields every inbound message has, and how it
// writes the timestamp (the zero TimestampFormat is RFC 3339).
type Names struct {
	From, Body, To, Status, BlockWord, FirstName, LastName, Business, Timestamp, MessageID string
	TimestampFormat                                                                        TimeFormat
}

// Common reads the fields every inbound shape has, in a fixed order so that of several bad
// fields the same one is reported every time. stamp is the timestamp as the provider wrote it.
// Channel is SMS; adapters set Provider and whatever else their shape carries.
func (f Fields) Common(n Names, region string) (in Inbound, stamp string, err error) {
	in.Channel = model.ChannelSMS
	if in.From, err = f.Phone(n.From, region); err != nil {
		return in, "", err
	}
	if in.Body, err = f.Body(n.Body); err != nil {
		return in, "", err
	}
	if in.To, err = f.Address(n.To, region); err != nil {
		return in, "", err
	}
	if in.Status, err = f.Status(n.Status); err != nil {
		return in, "", err
	}
	// The block word is kept even when the status is not "blocked": it is the provider's data
	// and the operator may want to see why a rule nearly fired.
	if in.MatchedBlockWord, err = f.Text(n.BlockWord, MaxBlockWordRunes); err != nil {
		return in, "", err
	}
	if in.Contact.FirstName, err = f.Text(n.FirstName, MaxNameRunes); err != nil {
		return in, "", err
	}
	if in.Contact.LastName, err = f.Text(n.LastName, MaxNameRunes); err != nil {
		return in, "", err
	}
	if in.Contact.Business, err = f.Text(n.Business, MaxNameRunes); err != nil {
		return in, "", err
	}
	in.Business = in.Contact.Business
	if in.ProviderTime, stamp, err = f.TimeAs(n.Timestamp, n.TimestampFormat); err != nil {
		return in, "", err
	}
	if in.ProviderMessageID, err = f.TextOrInt(n.MessageID, MaxIDRunes); err != nil {
		return in, "", err
	}
	// Without a timestamp no id can be derived safely (see DeriveMessageID), so such messages
	// stay "" and are not de-duplicated: a rare double beats a lost message.
	if in.ProviderMessageID == "" && stamp != "" {
		in.ProviderMessageID = DeriveMessageID(in.From, in.To, in.ProviderTime, in.Body)
	}
	return in, stamp, nil
}
