package model

import "time"

// JobKind selects the handler that runs a job.
type JobKind string

// Job kinds. (Routing an inbound message is not a job: the message's own "not yet routed"
// state is that work; see inbound.Router.)
const (
	JobWebhook JobKind = "webhook"
	JobSend    JobKind = "send"
)

// JobState is where a job is in the queue.
type JobState string

// Job states. A finished job is deleted; "waiting" jobs queue behind an earlier job with the same
// OrderKey and become "queued" when it finishes.
const (
	JobQueued  JobState = "queued"
	JobWaiting JobState = "waiting"
	JobRunning JobState = "running"
	JobDead    JobState = "dead"
)

// Job priorities: lower runs first within a client.
const (
	PriorityInteractive = 0
	PriorityNormal      = 1
	PriorityBulk        = 2
)

// Job is a unit of durable background work. Ref points at the row it works on (a message, a
// delivery). ClientID makes the per-client fairness lane ("" for work not yet tied to a client).
// OrderKey, when set, makes jobs with the same key run one at a time in insertion order.
type Job struct {
	ID         int64
	Kind       JobKind
	ClientID   string
	Ref        string
	OrderKey   string
	Priority   int
	RunAt      time.Time
	Attempts   int
	LeaseUntil time.Time
	LastError  string
	CreatedAt  time.Time
}
