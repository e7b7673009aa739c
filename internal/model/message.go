package model

import (
	"encoding/json"
	"fmt"
	"time"
)

// Direction tells whether a message came from a contact or went to one.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Channel is the medium a message travels on. It is part of every message and conversation
// from the start so that WhatsApp, MMS and voice can join without a migration of meaning.
type Channel string

// Channels.
const (
	ChannelSMS      Channel = "sms"
	ChannelWhatsApp Channel = "whatsapp"
	ChannelVoice    Channel = "voice"
)

// Known reports whether c is a channel messages can have.
func (c Channel) Known() bool {
	return c == ChannelSMS || c == ChannelWhatsApp || c == ChannelVoice
}

// MessageStatus is the life-cycle state of a message. Inbound messages are "received" or
// "blocked" (the provider matched an opt-out word); outbound ones move from "queued" on.
type MessageStatus string

// Message statuses.
const (
	StatusReceived    MessageStatus = "received"
	StatusBlocked     MessageStatus = "blocked"
	StatusQueued      MessageStatus = "queued"
	StatusSending     MessageStatus = "sending"
	StatusSent        MessageStatus = "sent"
	StatusDelivered   MessageStatus = "delivered"
	StatusUndelivered MessageStatus = "undelivered"
	StatusFailed      MessageStatus = "failed"
	// StatusUnknown: no final status arrived in time (IBIKI_STATUS_TIMEOUT). A late final
	// status still replaces it.
	StatusUnknown MessageStatus = "unknown"
	// StatusScheduled: accepted (and charged) to be sent at a later time; it becomes "sending"
	// when its time comes, like a queued message.
	StatusScheduled MessageStatus = "scheduled"
	// StatusCanceled: a scheduled message its client canceled before its time (refunded).
	StatusCanceled MessageStatus = "canceled"
)

// statusRank orders outbound statuses so that a late or repeated report never moves a message
// backwards. Final statuses share the top rank: the first one wins.
var statusRank = map[MessageStatus]int{
	StatusScheduled: 1, StatusQueued: 1, StatusSending: 2, StatusSent: 3, StatusUnknown: 4,
	StatusDelivered: 5, StatusUndelivered: 5, StatusFailed: 5, StatusCanceled: 5,
}

// Known reports whether s is a status messages can have.
func (s MessageStatus) Known() bool {
	return statusRank[s] > 0 || s == StatusReceived || s == StatusBlocked
}

// Final reports whether an outbound status is the end of the message's life.
func (s MessageStatus) Final() bool { return statusRank[s] == 5 }

// Advances reports whether moving from s to next goes forward.
func (s MessageStatus) Advances(next MessageStatus) bool {
	return statusRank[next] > statusRank[s] && !s.Final()
}

// RoutedBy names the routing rule that gave an inbound message its client.
type RoutedBy string

// Routing rules, in the order they are tried, plus the operator's manual assignment.
const (
	RoutedByNumber     RoutedBy = "number"
	RoutedByBusiness   RoutedBy = "business"
	RoutedByContact    RoutedBy = "contact"
	RoutedByLastSender RoutedBy = "last_sender"
	// RoutedByConversation: the one client that has a conversation with the phone, though it
	// never sent to it (the contact wrote first).
	RoutedByConversation RoutedBy = "conversation"
	RoutedByUnrouted     RoutedBy = "unrouted"
	RoutedByAssigned     RoutedBy = "assigned"
	RoutedByNotYetRouted RoutedBy = ""
	// RoutedByOutbound marks messages a client sent: they need no routing.
	RoutedByOutbound RoutedBy = "outbound"
)

// ContactInfo is what a provider (or our contact book) knows about the person behind a phone.
type ContactInfo struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Business  string `json:"business"`
}

// Message is one SMS (or other channel message) in either direction. ClientID is empty while an
// inbound message is not yet routed or stays unrouted.
type Message struct {
	ID                string
	ClientID          string
	ConversationID    string
	Direction         Direction
	Channel           Channel
	From              string
	To                string
	Body              string
	Status            MessageStatus
	MatchedBlockWord  string
	Contact           ContactInfo
	Provider          string
	ProviderMessageID string
	RoutedBy          RoutedBy
	// Meta holds provider-specific extras as a JSON object (ExtremeSMS modem and port, the
	// provider's own timestamp...): kept for the operator, never interpreted.
	Meta string
	// Outbound only: how the body travels and what it cost, the provider's error when it
	// failed, how many times a send was started, and when the status last changed.
	Segments     int
	Encoding     string
	CostCents    int64
	ErrorCode    string
	ErrorMessage string
	SendAttempts int
	StatusAt     time.Time
	// CampaignID is the campaign an outbound message belongs to ("" for none).
	CampaignID string
	// Media are the message's attachments (an MMS picture, a WhatsApp document), in the order
	// the provider gave them; nil for none.
	Media []Attachment
	// SentAt is when the message was handed to its provider (the latest attempt's time; zero
	// while it was not). Read from the store, never written by an insert.
	SentAt time.Time
	// StatusCallback is the message's own status callback URL (Twilio's StatusCallback, given
	// with the send; "" for none): its status changes are posted there too.
	StatusCallback string
	// ValidUntil: an outbound message not handed to its provider by then fails instead
	// (Twilio's ValidityPeriod); zero for no limit.
	ValidUntil time.Time
	// DLTTemplateID and DLTEntityID are the DLT ids an outbound message was sent under (India;
	// "" for none): its provider passes them on.
	DLTTemplateID string
	DLTEntityID   string
	ReceivedAt    time.Time
	CreatedAt     time.Time
}

// Attachment is one medium of a message: where the provider keeps it, and its type. Ibiki
// keeps the address, not the file.
type Attachment struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// EncodeMedia is how a message's attachments are stored: a JSON array, "" for none.
func EncodeMedia(media []Attachment) string {
	if len(media) == 0 {
		return ""
	}
	b, _ := json.Marshal(media) // strings only: always encodes
	return string(b)
}

// DecodeMedia reads what EncodeMedia stored.
func DecodeMedia(s string) ([]Attachment, error) {
	if s == "" {
		return nil, nil
	}
	var media []Attachment
	if err := json.Unmarshal([]byte(s), &media); err != nil {
		return nil, fmt.Errorf("stored media %.40q: %w", s, err)
	}
	return media, nil
}
