package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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
// flat whatever the file's size.
func (a *API) importContacts(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		respond.Err(w, r, respond.Invalid("file", "send the file as multipart/form-data in a field named file"))
		return
	}
	var (
		opt  importer.Options
		file *os.File
	)
	defer func() {
		if file != nil {
			file.Close()
			os.Remove(file.Name())
		}
	}()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			respond.Err(w, r, uploadErr(err))
			return
		}
		switch part.FormName() {
		case "file":
			if file != nil {
				respond.Err(w, r, respond.Invalid("file", "send one file"))
				return
			}
			if file, err = spool(part); err != nil {
				respond.Err(w, r, err)
				return
			}
			opt.Filename = part.FileName()
		case "mapping", "tag", "extra":
			b, err := io.ReadAll(io.LimitReader(part, maxFormField))
			if err != nil {
				respond.Err(w, r, uploadErr(err))
				return
			}
			if err := setImportOption(&opt, part.FormName(), strings.TrimSpace(string(b))); err != nil {
				respond.Err(w, r, err)
				return
			}
		default:
			respond.Err(w, r, respond.Invalid(part.FormName(), "unknown field "+part.FormName()))
			return
		}
	}
	if file == nil {
		respond.Err(w, r, respond.Missing("file"))
		return
	}
	rep, err := a.Importer.Import(r.Context(), clientID(r.Context()), file, opt)
	if errors.Is(err, importer.ErrFile) {
		err = respond.Invalid("file", err.Error())
	}
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
	case "tag":
		if len(v) > 100 || strings.ContainsRune(v, 0) {
			return respond.Invalid("tag", "tag must be at most 100 characters")
		}
		opt.Tag = v
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
