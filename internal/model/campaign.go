package model

import "time"

// CampaignStatus is where a campaign is in its life.
type CampaignStatus string

// Campaign statuses: creating → draft → scheduled → sending ⇄ paused → completed | cancelled |
// failed. A campaign is "creating" while its recipients are stored and priced: it cannot start.
const (
	CampaignCreating  CampaignStatus = "creating"
	CampaignDraft     CampaignStatus = "draft"
	CampaignScheduled CampaignStatus = "scheduled"
	CampaignSending   CampaignStatus = "sending"
	CampaignPaused    CampaignStatus = "paused"
	CampaignCompleted CampaignStatus = "completed"
	CampaignCancelled CampaignStatus = "cancelled"
	CampaignFailed    CampaignStatus = "failed"
)

// Done reports whether the campaign has ended.
func (s CampaignStatus) Done() bool {
	return s == CampaignCompleted || s == CampaignCancelled || s == CampaignFailed
}

// Campaign is one message template sent to a list of recipients.
type Campaign struct {
	ID         string
	ClientID   string
	Name       string
	Message    string
	Status     CampaignStatus
	ScheduleAt time.Time
	Total      int64 // valid recipients
	Invalid    int64 // rows refused at creation, reported apart
	CostCents  int64 // the whole campaign's price, reserved when it starts
	QuietHours bool  // hold sends inside the client's quiet hours
	Report     string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// RecipientStatus is where one recipient of a campaign is.
type RecipientStatus string

// Recipient statuses. Once queued, the message's own status tells the rest.
const (
	RecipientPending   RecipientStatus = "pending"
	RecipientQueued    RecipientStatus = "queued"
	RecipientOptedOut  RecipientStatus = "opted_out"
	RecipientCancelled RecipientStatus = "cancelled"
)

// Recipient is one recipient of a campaign, with the message rendered for them.
type Recipient struct {
	CampaignID string
	Seq        int64
	Line       int
	Phone      string
	Body       string
	Segments   int
	Encoding   string
	CostCents  int64
	Status     RecipientStatus
	MessageID  string
	Error      string
	// Read with the recipient: its message's status and error code, and whether the recipient
	// wrote back within the reply window after it.
	MessageStatus MessageStatus
	ErrorCode     string
	Replied       bool
}
