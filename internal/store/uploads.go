package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// Upload is a file kept between two requests of a person (the dashboard's import steps).
type Upload struct {
	ID        string // the SHA-256 of the token its owner holds
	ClientID  string
	Name      string
	Size      int64
	CreatedAt time.Time
}

// UploadChunkSize is how much of a file one row holds.
const UploadChunkSize = 1 << 20

// SaveUpload stores r as the client's upload id, chunk by chunk (one short transaction each),
// and marks it complete with its size. On an error the partial upload is removed.
func (s *Store) SaveUpload(ctx context.Context, u Upload, r io.Reader) (Upload, error) {
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO uploads (id, client_id, name, size, created_at) VALUES (?, ?, ?, -1, ?)`,
			u.ID, u.ClientID, u.Name, ms(u.CreatedAt))
		return notFound(err, "insert upload")
	})
	if err != nil {
		return u, err
	}
	buf := make([]byte, UploadChunkSize)
	var size int64
	for seq := 0; ; seq++ {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			chunk := buf[:n]
			if err := s.InTx(ctx, func(tx *Tx) error {
				_, err := tx.exec(ctx, `INSERT INTO upload_chunks (upload_id, seq, data) VALUES (?, ?, ?)`, u.ID, seq, chunk)
				return err
			}); err != nil {
				return u, errors.Join(err, s.DeleteUpload(context.WithoutCancel(ctx), u.ClientID, u.ID))
			}
			size += int64(n)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return u, errors.Join(rerr, s.DeleteUpload(context.WithoutCancel(ctx), u.ClientID, u.ID))
		}
	}
	u.Size = size
	return u, s.InTx(ctx, func(tx *Tx) error {
		return affected(tx.exec(ctx, `UPDATE uploads SET size = ? WHERE id = ?`, size, u.ID))
	})
}

// CompleteUpload returns a client's complete upload made at or after since; another client's,
// an unfinished or an older one is ErrNotFound.
func (r reader) CompleteUpload(ctx context.Context, clientID, id string, since time.Time) (Upload, error) {
	u := Upload{ID: id, ClientID: clientID}
	var created int64
	err := r.queryRow(ctx, `SELECT name, size, created_at FROM uploads
		WHERE id = ? AND client_id = ? AND size >= 0 AND created_at >= ?`, id, clientID, ms(since)).Scan(&u.Name, &u.Size, &created)
	u.CreatedAt = fromMS(created)
	return u, notFound(err, "upload")
}

// OpenUpload reads a complete upload (see CompleteUpload) back, chunk by chunk.
func (s *Store) OpenUpload(ctx context.Context, u Upload) io.Reader {
	return &uploadReader{ctx: ctx, s: s, id: u.ID}
}

type uploadReader struct {
	ctx  context.Context
	s    *Store
	id   string
	seq  int
	left []byte
	done bool
}

func (r *uploadReader) Read(p []byte) (int, error) {
	for len(r.left) == 0 {
		if r.done {
			return 0, io.EOF
		}
		var chunk []byte
		err := r.s.queryRow(r.ctx, `SELECT data FROM upload_chunks WHERE upload_id = ? AND seq = ?`, r.id, r.seq).Scan(&chunk)
		if err != nil {
			if err = notFound(err, "upload chunk"); errors.Is(err, ErrNotFound) {
				r.done = true
				continue
			}
			return 0, err
		}
		r.left, r.seq = chunk, r.seq+1
	}
	n := copy(p, r.left)
	r.left = r.left[n:]
	return n, nil
}

// DeleteUpload removes a client's upload and its chunks.
func (s *Store) DeleteUpload(ctx context.Context, clientID, id string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM upload_chunks WHERE upload_id IN (SELECT id FROM uploads WHERE id = ? AND client_id = ?)`, id, clientID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM uploads WHERE id = ? AND client_id = ?`, id, clientID)
		return err
	})
}

// DeleteUploadsBefore removes the uploads made before t (abandoned at the mapping step).
func (s *Store) DeleteUploadsBefore(ctx context.Context, t time.Time) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM upload_chunks WHERE upload_id IN (SELECT id FROM uploads WHERE created_at < ?)`, ms(t)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM uploads WHERE created_at < ?`, ms(t))
		return err
	})
}
