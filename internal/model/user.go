package model

import "time"

// Role is what a dashboard user may do: run the whole service, or work for one client.
type Role string

// Roles.
const (
	RoleOperator Role = "operator"
	RoleClient   Role = "client"
)

// User is a person who signs in to the dashboard. A client user belongs to exactly one client
// and sees only its data; an operator has no client. PasswordHash is empty until an invited
// user chooses a password.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	Role         Role
	ClientID     string
	Active       bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Session is a signed-in browser. Only the hash of its cookie value is stored.
type Session struct {
	IDHash     string
	UserID     string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
}

// AuditEntry records one operator action (or a client user's change of its own settings).
type AuditEntry struct {
	ID        string
	Actor     string
	Action    string
	ClientID  string
	Target    string
	Detail    string
	CreatedAt time.Time
}
