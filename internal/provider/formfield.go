package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
)

// FormFields reads the named fields of a form (a form-encoded body, a query string, the text
// parts of a multipart body) as Fields, so that a provider posting forms is read by the same
// field readers as one posting JSON, with the same limits and errors. Every value is a string.
// Other fields are ignored, as unknown JSON fields are; a named field given twice is a
// *FieldError, since which one the provider meant cannot be told.
func FormFields(form url.Values, names []string) (Fields, error) {
	f := make(Fields, len(names))
	for _, name := range names {
		vals, ok := form[name]
		switch {
		case !ok || len(vals) == 0:
			continue
		case len(vals) > 1:
			return nil, &FieldError{Field: name, Reason: "must be given once"}
		}
		// Form bytes may be anything once percent-decoded; JSON strings are UTF-8. Check first, so
		// that the error names the field rather than encoding/json replacing the bytes.
		if reason := NotText(vals[0]); reason != "" {
			return nil, &FieldError{Field: name, Reason: reason}
		}
		raw, err := json.Marshal(vals[0])
		if err != nil {
			return nil, &FieldError{Field: name, Reason: "must be text"}
		}
		f[name] = raw
	}
	return f, nil
}

// ParseForm reads a form-encoded body or query string; anything that is not one is
// ErrMalformed.
func ParseForm(s string) (url.Values, error) {
	form, err := url.ParseQuery(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not a valid form (%v)", ErrMalformed, err)
	}
	return form, nil
}

// ParseMultipartForm reads the text parts of a multipart/form-data body. Files are not read as
// values: a file part is reported in files by name, so the caller can refuse one that stands
// where a field is expected. The body is already in memory (and bounded by the server's body
// limit), so nothing is written to disk.
func ParseMultipartForm(body []byte, boundary string) (form url.Values, files map[string]bool, err error) {
	if boundary == "" {
		return nil, nil, fmt.Errorf("%w: multipart body without a boundary", ErrMalformed)
	}
	mf, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(int64(len(body)) + 1)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: not a valid multipart form", ErrMalformed)
	}
	defer mf.RemoveAll()
	files = make(map[string]bool, len(mf.File))
	for name := range mf.File {
		files[name] = true
	}
	return url.Values(mf.Value), files, nil
}
