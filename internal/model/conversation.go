package model

import "time"

// Conversation is the thread between one client and one contact phone on one channel.
type Conversation struct {
	ID       string
	ClientID string
	Phone    string
	Channel  Channel
	// LastInboundTo is the number the contact last wrote to: the sticky sender for replies.
	LastInboundTo  string
	LastMessageAt  time.Time
	LastInboundAt  time.Time
	LastOutboundAt time.Time
	LastPreview    string
	MessageCount   int64
	UnreadCount    int64
	CreatedAt      time.Time
}

// Contact is a person in a client's contact book.
type Contact struct {
	ID        string
	ClientID  string
	Phone     string
	FirstName string
	LastName  string
	Business  string
	// Fields holds custom columns as a JSON object of strings.
	Fields    map[string]string
	Tags      []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Number is a phone number Ibiki receives on. ClientID empty means the shared pool.
type Number struct {
	Number    string
	ClientID  string
	Provider  string
	CreatedAt time.Time
}

// OptOut records that a phone asked a client to stop sending.
type OptOut struct {
	ClientID  string
	Phone     string
	Source    string
	Keyword   string
	CreatedAt time.Time
}
