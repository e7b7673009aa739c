package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Sharing announcements between instances (PostgreSQL). Each instance sends the announcements
// of its own commits to the others with NOTIFY on one channel, batched (a few a second, not one
// per message), and listens on that channel for theirs. SQLite has one process: nothing to share.
const (
	shareChannel = "ibiki_live"
	// shareEvery batches an instance's announcements into one NOTIFY per interval.
	shareEvery = 50 * time.Millisecond
	// notifyLimit keeps a payload under PostgreSQL's 8000-byte cap.
	notifyLimit = 7000
)

// sharedBatch is one NOTIFY payload: the sending instance and its announcements.
type sharedBatch struct {
	Instance string      `json:"i"`
	News     [][4]string `json:"a"` // client, kind, conversation, message
}

// ShareAnnouncements sends this instance's announcements to the other instances and hands
// theirs to deliver, until ctx ends. On SQLite it returns at once. A lost connection is
// re-established; announcements made while it was down are not replayed (pages refresh on the
// next one, and poll what must not be missed).
func (s *Store) ShareAnnouncements(ctx context.Context, deliver func(Announcement)) {
	if s.engine != Postgres {
		return
	}
	instance := rand.Text()
	out := make(chan Announcement, 4096)
	s.OnAnnounce(func(a Announcement) {
		select {
		case out <- a:
		default: // the sender is behind: this one is dropped (see above)
		}
	})
	done := make(chan struct{})
	go func() { s.sendShared(ctx, instance, out); close(done) }()
	for ctx.Err() == nil {
		err := s.listenShared(ctx, instance, deliver)
		if ctx.Err() != nil {
			break
		}
		s.logShareError(err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	<-done
}

func (s *Store) logShareError(err error) {
	if s.shareLog != nil && err != nil {
		s.shareLog(err)
	}
}

// sendShared batches the announcements of this instance into NOTIFYs.
func (s *Store) sendShared(ctx context.Context, instance string, in <-chan Announcement) {
	t := time.NewTicker(shareEvery)
	defer t.Stop()
	var batch [][4]string
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-in:
			batch = append(batch, [4]string{a.ClientID, a.Kind, a.ConversationID, a.MessageID})
			continue
		case <-t.C:
		}
		for len(batch) > 0 {
			payload, n := encodeShared(instance, batch)
			if _, err := s.write.ExecContext(ctx, `SELECT pg_notify($1, $2)`, shareChannel, payload); err != nil && ctx.Err() == nil {
				s.logShareError(fmt.Errorf("store: notify: %w", err))
			}
			batch = batch[n:]
		}
		batch = batch[:0]
	}
}

// encodeShared encodes as many of batch as fit one payload, and says how many.
func encodeShared(instance string, batch [][4]string) (string, int) {
	n := len(batch)
	for {
		b, _ := json.Marshal(sharedBatch{Instance: instance, News: batch[:n]})
		if len(b) <= notifyLimit || n == 1 {
			return string(b), n
		}
		n /= 2
	}
}

// listenShared holds one connection of the pool with LISTEN and delivers the other instances'
// announcements until ctx ends or the connection fails.
func (s *Store) listenShared(ctx context.Context, instance string, deliver func(Announcement)) error {
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		sc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return errors.New("store: listen: not a pgx connection")
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+shareChannel); err != nil {
			return err
		}
		// The connection goes back to the pool afterwards: stop listening on it.
		defer func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			pc.Exec(uctx, "UNLISTEN "+shareChannel) //nolint:errcheck // the pool drops a broken connection
		}()
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("store: listen: %w", err)
			}
			var b sharedBatch
			if json.Unmarshal([]byte(n.Payload), &b) != nil || b.Instance == instance {
				continue
			}
			for _, a := range b.News {
				deliver(Announcement{ClientID: a[0], Kind: a[1], ConversationID: a[2], MessageID: a[3]})
			}
		}
	})
}

// SetShareLog sets where errors of ShareAnnouncements are reported (they are otherwise dropped).
func (s *Store) SetShareLog(fn func(error)) { s.shareLog = fn }
