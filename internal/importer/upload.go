package importer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/contact"
	"github.com/ibiki/ibiki/internal/csvimport"
	"github.com/ibiki/ibiki/internal/store"
)

// An import made by a person (the dashboard's) is two steps: the upload, whose first rows the
// person sees while choosing what each column holds, then the import with that mapping. The
// file is kept between them in the database (so that any instance can take the second step),
// under the hash of a random token only the person's browser holds.

// UploadTTL is how long a kept upload waits for its mapping step.
const UploadTTL = time.Hour

// uploadToken is what crypto/rand.Text gives: 26 characters of A-Z and 2-7.
var uploadToken = regexp.MustCompile(`^[A-Z2-7]{26}$`)

// Kept is a file kept for the mapping step.
type Kept struct {
	store.Upload
	// Token finds the upload again (Kept); it is not stored, only its hash is.
	Token string
	// Sample is the start of the file, as the mapping step shows it.
	Sample csvimport.Sample
}

// Keep checks the tag the person means to put on every contact, keeps the file (under its name
// cleaned: see filename) and reads its first rows (at most preview). A file that cannot be read
// as a contact list is not kept: the error is a *FileError.
func (s *Service) Keep(ctx context.Context, clientID, name, tag string, file io.Reader, preview int) (Kept, error) {
	if err := contact.Tag(tag); err != nil {
		return Kept{}, err
	}
	k := Kept{Token: rand.Text()}
	var err error
	k.Upload, err = s.Store.SaveUpload(ctx, store.Upload{ID: auth.Hash(k.Token), ClientID: clientID, Name: filename(name),
		CreatedAt: s.Clock()}, file)
	if err != nil {
		return Kept{}, fmt.Errorf("importer: keep upload: %w", err)
	}
	if k.Sample, err = s.Preview(ctx, k.Upload, preview); err != nil {
		return Kept{}, errors.Join(err, s.Store.DeleteUpload(context.WithoutCancel(ctx), clientID, k.ID))
	}
	return k, nil
}

// Kept finds the client's complete upload for a token, made within UploadTTL. Another client's,
// an expired, an unknown or a malformed one is store.ErrNotFound.
func (s *Service) Kept(ctx context.Context, clientID, token string) (store.Upload, error) {
	if !uploadToken.MatchString(token) {
		return store.Upload{}, store.ErrNotFound
	}
	return s.Store.CompleteUpload(ctx, clientID, auth.Hash(token), s.Clock().Add(-UploadTTL))
}

// Preview reads the header and the first n records of a kept upload (a *FileError when it
// cannot be read as a contact list).
func (s *Service) Preview(ctx context.Context, u store.Upload, n int) (csvimport.Sample, error) {
	sample, err := csvimport.Preview(s.Store.OpenUpload(ctx, u), csvimport.Options{Region: s.Region}, n)
	if err != nil {
		return sample, &FileError{Reason: err}
	}
	return sample, nil
}

// ImportKept imports a kept upload with the mapping the person chose (see Import). Imported, or
// refused with its report, the upload is then removed; refused before anything was recorded
// (the tag is wrong), it is kept for another try.
func (s *Service) ImportKept(ctx context.Context, u store.Upload, opt Options) (Report, error) {
	rep, err := s.Import(ctx, u.ClientID, s.Store.OpenUpload(ctx, u), opt)
	var fe *contact.FieldError
	if errors.As(err, &fe) {
		return rep, err
	}
	if derr := s.Store.DeleteUpload(context.WithoutCancel(ctx), u.ClientID, u.ID); derr != nil {
		s.Log.Warn("importer: removing an imported upload", "error", derr)
	}
	return rep, err
}

// ExpireUploads removes the uploads nobody finished mapping within UploadTTL.
func (s *Service) ExpireUploads(ctx context.Context) error {
	return s.Store.DeleteUploadsBefore(ctx, s.Clock().Add(-UploadTTL))
}
