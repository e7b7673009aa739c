package model

import "time"

// EventType is the dotted name of a client webhook event.
type EventType string

// Event types.
const (
	EventMessageReceived EventType = "message.received"
	EventMessageStatus   EventType = "message.status"
	EventMessageOptOut   EventType = "message.opt_out"
	EventMessageOptIn    EventType = "message.opt_in"
	// EventFlowCompleted is sent when a contact finishes a service's flow, with the answers.
	EventFlowCompleted EventType = "flow.completed"
	// EventWebhookTest is sent when someone presses "send a test event" in the dashboard.
	EventWebhookTest EventType = "webhook.test"
)

// DeliveryStatus is where one event stands in its delivery to the client's webhook.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Delivery is one event bound for one client's webhook. Its ID is the webhook-id header, the
// same on every attempt, so receivers can de-duplicate. Payload is the exact body sent.
type Delivery struct {
	ID             string
	ClientID       string
	ConversationID string
	MessageID      string
	Type           EventType
	Payload        []byte
	Status         DeliveryStatus
	Attempts       int
	LastStatusCode int
	LastError      string
	NextAttemptAt  time.Time
	CreatedAt      time.Time
	CompletedAt    time.Time
	// URL is where it goes when not to the client's webhook URL ("": the client's): a
	// message's own status callback.
	URL string
	// Format is how it is sent: DeliveryStandard (Standard Webhooks JSON) or DeliveryTwilio
	// (a Twilio form, Payload form-encoded, signed with X-Twilio-Signature).
	Format DeliveryFormat
}

// DeliveryFormat is the shape of a delivery on the wire.
type DeliveryFormat string

// Delivery formats; also the webhook formats a client chooses (Client.WebhookFormat).
const (
	DeliveryStandard DeliveryFormat = "standard"
	DeliveryTwilio   DeliveryFormat = "twilio"
	// DeliverySMPP: a deliver_sm over one of the client's receiver binds to the SMPP server
	// (an inbound message, or the delivery receipt of a message it submitted with
	// registered_delivery); Payload is the standard payload it is made from.
	DeliverySMPP DeliveryFormat = "smpp"
)

// Attempt is one HTTP try of a delivery.
type Attempt struct {
	ID         string
	DeliveryID string
	ClientID   string
	At         time.Time
	URL        string
	StatusCode int
	Latency    time.Duration
	Error      string
	Response   string
}
