package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

func TestUploads(t *testing.T) {
	st := ibikitest.NewStore(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"acme", "globex"} {
		ibikitest.Must(t, st.InTx(ctx, func(tx *store.Tx) error {
			return tx.InsertClient(ctx, model.Client{ID: id, Name: id, Active: true, WebhookSecret: "whsec_x", CreatedAt: now, UpdatedAt: now})
		}))
	}
	// Just over two chunks, so that reading crosses chunk boundaries.
	data := bytes.Repeat([]byte("+15551230001,Ann\n"), 2*store.UploadChunkSize/17+100)
	u, err := st.SaveUpload(ctx, store.Upload{ID: "u1", ClientID: "acme", Name: "a.csv", CreatedAt: now}, bytes.NewReader(data))
	if err != nil || u.Size != int64(len(data)) {
		t.Fatalf("SaveUpload = %+v, %v", u, err)
	}
	t.Run("the owner reads it back whole, in small reads", func(t *testing.T) {
		got, err := st.CompleteUpload(ctx, "acme", "u1", now.Add(-time.Hour))
		if err != nil || got.Name != "a.csv" || got.Size != int64(len(data)) {
			t.Fatalf("CompleteUpload = %+v, %v", got, err)
		}
		var back bytes.Buffer
		if _, err := io.CopyBuffer(&back, st.OpenUpload(ctx, got), make([]byte, 4096)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back.Bytes(), data) {
			t.Errorf("read back %d bytes, want the %d written", back.Len(), len(data))
		}
	})
	t.Run("another client, or after its time, it is not found", func(t *testing.T) {
		if _, err := st.CompleteUpload(ctx, "globex", "u1", now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another client's upload: %v", err)
		}
		if _, err := st.CompleteUpload(ctx, "acme", "u1", now.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an expired upload: %v", err)
		}
	})
	t.Run("a failed upload leaves nothing", func(t *testing.T) {
		_, err := st.SaveUpload(ctx, store.Upload{ID: "u2", ClientID: "acme", Name: "b.csv", CreatedAt: now},
			io.MultiReader(bytes.NewReader(data[:1000]), errReader{}))
		if err == nil {
			t.Fatal("a read error was not reported")
		}
		if _, err := st.CompleteUpload(ctx, "acme", "u2", now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the failed upload is there: %v", err)
		}
	})
	t.Run("old uploads are swept, and deleted ones are gone", func(t *testing.T) {
		ibikitest.Must(t, st.DeleteUploadsBefore(ctx, now.Add(time.Second)))
		if _, err := st.CompleteUpload(ctx, "acme", "u1", now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a swept upload is still there: %v", err)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
