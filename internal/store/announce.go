package store

// Announcement says that something a client's open dashboards show has changed: a message
// arrived or changed status, a campaign moved. It carries ids, not data: a dashboard reads what
// it needs, through the same tenant-checked queries as any page.
type Announcement struct {
	ClientID       string
	Kind           string // "message", "campaign"
	ConversationID string
	MessageID      string
}

// Announce queues a for the listeners registered with OnAnnounce; they hear it once the
// transaction has committed, never if it does not.
func (tx *Tx) Announce(a Announcement) { tx.news = append(tx.news, a) }

// OnAnnounce registers fn to hear every committed announcement of this process.
func (s *Store) OnAnnounce(fn func(Announcement)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.onAnnounce = append(s.onAnnounce, fn)
}

func (s *Store) announce(news []Announcement) {
	if len(news) == 0 {
		return
	}
	s.hookMu.RLock()
	defer s.hookMu.RUnlock()
	for _, a := range news {
		for _, fn := range s.onAnnounce {
			fn(a)
		}
	}
}
