package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/ibiki/ibiki/internal/importer"
	"github.com/ibiki/ibiki/internal/respond"
)

// maxFormField bounds the small multipart fields (mapping, tag).
const maxFormField = 64 << 10

// importContacts: POST /api/v1/contacts/import, multipart with `file` (the CSV), optional
// `mapping` (a JSON object: field → column header, or "#3" for the third column), `tag` (put on
// every imported contact) and `extra` ("ignore" drops unmapped columns). The file is spooled to
// a temporary file as it arrives (the fields may come after it), then imported; the answer is
// the report (with the error, under "import", when the import failed part-way). Memory stays
// flat whatever the file's size. It takes an Idempotency-Key: the request is identified by its
// fields and the file's bytes (not the multipart boundary), and the report is kept in the
// transaction that merges the import.
func (a *API) importContacts(w http.ResponseWriter, r *http.Request) {
	client := clientID(r.Context())
	key, err := checkKey(r, ibikiShape.keyFrom)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	opt, file, hash, err := a.readImport(r)
	if file != nil {
		defer func() {
			file.Close()
			os.Remove(file.Name())
		}()
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	k := keyed{owner: client, key: key, hash: hash}
	r, done := a.begin(w, r, ibikiShape, k, importAnswer)
	if done {
		return
	}
	rep, err := a.Importer.Import(r.Context(), client, file, opt)
	if a.lostRace(w, r, ibikiShape, k, err) {
		return // a concurrent request with the same key won
	}
	if errors.Is(err, importer.ErrFile) {
		err = respond.Invalid("file", err.Error())
	}
	err = contactErr(err, "")
	if err != nil && rep.ID == "" {
		respond.Err(w, r, err) // refused before anything was recorded
		return
	}
	if err != nil {
		// Recorded as failed, with its report: answer it under "import", so that the client
		// knows the id it can read again at GET /api/v1/contacts/imports/{id}.
		e := respond.Map(err)
		if e == respond.ErrInternal {
			respond.Log(r, "contact import failed", err)
		}
		respond.JSON(w, e.Status, map[string]any{"error": e, "import": rep})
		return
	}
	respond.JSON(w, http.StatusOK, rep)
}

// importAnswer keeps a completed import's report.
var importAnswer = answerWith(http.StatusOK, func(rep importer.Report) importer.Report { return rep })

// readImport reads an import's multipart form: the options, the spooled file (which the caller
// closes and removes, also after an error) and the hash that identifies the request.
func (a *API) readImport(r *http.Request) (opt importer.Options, file *os.File, hash string, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return opt, nil, "", respond.Invalid("file", "send the file as multipart/form-data in a field named file")
	}
	var parts []string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return opt, file, "", uploadErr(err)
		}
		switch part.FormName() {
		case "file":
			if file != nil {
				return opt, file, "", respond.Invalid("file", "send one file")
			}
			fileHash := sha256.New()
			if file, err = spool(io.TeeReader(part, fileHash)); err != nil {
				return opt, file, "", err
			}
			opt.Filename = part.FileName()
			parts = append(parts, "file:"+hex.EncodeToString(fileHash.Sum(nil)))
		case "mapping", "tag", "extra":
			b, err := io.ReadAll(io.LimitReader(part, maxFormField))
			if err != nil {
				return opt, file, "", uploadErr(err)
			}
			v := strings.TrimSpace(string(b))
			if err := formText(part.FormName(), v); err != nil {
				return opt, file, "", err
			}
			if err := setImportOption(&opt, part.FormName(), v); err != nil {
				return opt, file, "", err
			}
			parts = append(parts, part.FormName()+"="+v)
		default:
			return opt, file, "", respond.Invalid(part.FormName(), "unknown field "+part.FormName())
		}
	}
	if file == nil {
		return opt, nil, "", respond.Missing("file")
	}
	sort.Strings(parts)
	return opt, file, requestHash(r, []byte(strings.Join(parts, "\n"))), nil
}

// spool copies an uploaded file to a temporary file, rewound for reading; the caller closes
// and removes it. A server-side failure is an internal error; a broken upload a 400.
func spool(part io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "ibiki-upload-*.csv")
	if err != nil {
		return nil, err
	}
	if _, err = io.Copy(f, part); err != nil {
		err = uploadErr(err)
	} else if _, err = f.Seek(0, io.SeekStart); err != nil {
		err = fmt.Errorf("rewind upload: %w", err)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// uploadErr answers a multipart body that cannot be read: 413 past the size limit, else 400
// (a truncated upload, a broken boundary), never 500.
func uploadErr(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return respond.ErrTooLarge
	}
	return respond.Invalid("file", "the upload cannot be read (cut short, or not well-formed multipart): "+err.Error())
}

func setImportOption(opt *importer.Options, name, v string) error {
	switch name {
	case "mapping":
		if v == "" {
			return nil
		}
		if err := json.Unmarshal([]byte(v), &opt.Mapping); err != nil {
			return respond.Invalid("mapping", `mapping must be a JSON object of strings, e.g. {"phone":"Mobile","first_name":"Given name"}`)
		}
		return mappingText(opt.Mapping)
	case "tag":
		opt.Tag = v // checked by the importer, as a contact's tag
	case "extra":
		if v != "" && v != "keep" && v != "ignore" {
			return respond.Invalid("extra", "extra must be keep or ignore")
		}
		opt.IgnoreExtra = v == "ignore"
	}
	return nil
}

// getImport: GET /api/v1/contacts/imports/{id}: an import's report.
func (a *API) getImport(w http.ResponseWriter, r *http.Request) {
	im, err := a.Store.ImportByID(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	if len(im.Report) == 0 {
		respond.JSON(w, http.StatusOK, map[string]string{"id": im.ID, "status": im.Status})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(append(im.Report, '\n'))
}
