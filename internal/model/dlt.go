package model

import "time"

// PrefixDLTTemplate starts the ids of DLTTemplate (Ibiki's own id; the DLT id is TemplateID).
const PrefixDLTTemplate = "dlt"

// DLTTemplate is a message template a client registered on India's DLT (Distributed Ledger
// Technology) platform, as the operators there require for every commercial SMS: the template's
// DLT id, the principal entity's DLT id, the sender header it was approved for, and its text,
// in which each "{#var#}" stands for up to 30 characters (package dlt matches texts to it).
type DLTTemplate struct {
	ID         string
	ClientID   string
	TemplateID string // the DLT template id (digits), unique per client
	EntityID   string // the DLT principal entity id (digits)
	Sender     string // the header ("ACMEIN"); "" for any
	Text       string
	CreatedAt  time.Time
}
