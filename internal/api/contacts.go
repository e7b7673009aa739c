package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/store"
)

type contactOut struct {
	ID        string            `json:"id"`
	Phone     string            `json:"phone"`
	FirstName string            `json:"first_name"`
	LastName  string            `json:"last_name"`
	Business  string            `json:"business"`
	Fields    map[string]string `json:"fields"`
	CreatedAt string            `json:"created_at"`
	UpdatedAt string            `json:"updated_at"`
}

func contactJSON(c model.Contact) contactOut {
	out := contactOut{ID: c.ID, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName, Business: c.Business,
		Fields: c.Fields, CreatedAt: formatTime(c.CreatedAt), UpdatedAt: formatTime(c.UpdatedAt)}
	if out.Fields == nil {
		out.Fields = map[string]string{}
	}
	return out
}

// Limits of contact fields: generous for names, small enough to keep rows and exports sane.
const (
	maxNameLen   = 256
	maxFields    = 50
	maxFieldKey  = 64
	maxFieldText = 1024
)

func (a *API) createContact(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Phone     string            `json:"phone"`
		FirstName string            `json:"first_name"`
		LastName  string            `json:"last_name"`
		Business  string            `json:"business"`
		Fields    map[string]string `json:"fields"`
	}
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	if in.Phone == "" {
		respond.Err(w, r, respond.Missing("phone"))
		return
	}
	phone, err := sms.NormalizeE164(in.Phone, a.Region)
	if err != nil {
		respond.Err(w, r, respond.Invalid("phone", err.Error()))
		return
	}
	for name, v := range map[string]*string{"first_name": &in.FirstName, "last_name": &in.LastName, "business": &in.Business} {
		*v = strings.TrimSpace(*v)
		if utf8.RuneCountInString(*v) > maxNameLen || strings.ContainsRune(*v, 0) {
			respond.Err(w, r, respond.Invalid(name, name+" must be at most 256 characters of text"))
			return
		}
	}
	if err := checkFields(in.Fields); err != nil {
		respond.Err(w, r, err)
		return
	}
	now := a.now()
	c := model.Contact{ID: model.NewIDAt(model.PrefixContact, now), ClientID: clientID(r.Context()), Phone: phone,
		FirstName: in.FirstName, LastName: in.LastName, Business: in.Business, Fields: in.Fields, CreatedAt: now, UpdatedAt: now}
	err = a.Store.InTx(r.Context(), func(tx *store.Tx) error { return tx.InsertContact(r.Context(), c) })
	if isConflict(err) {
		err = &respond.Error{Status: http.StatusConflict, Code: "contact_exists",
			Message: "this phone is already one of your contacts", Param: "phone"}
	}
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, contactJSON(c))
}

func checkFields(fields map[string]string) error {
	if len(fields) > maxFields {
		return respond.Invalid("fields", "at most 50 custom fields")
	}
	for k, v := range fields {
		if k == "" || len(k) > maxFieldKey || utf8.RuneCountInString(v) > maxFieldText ||
			strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
			return respond.Invalid("fields", "custom field names are 1-64 bytes and values at most 1024 characters of text")
		}
	}
	return nil
}

func (a *API) listContacts(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	cs, err := a.Store.Contacts(r.Context(), clientID(r.Context()), cursor, limit)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	out := make([]contactOut, len(cs))
	last := ""
	for i, c := range cs {
		out[i], last = contactJSON(c), c.ID
	}
	respond.JSON(w, http.StatusOK, page{Data: out, NextCursor: nextCursor(len(cs), limit, last)})
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request) {
	c, err := a.Store.Contact(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, contactJSON(c))
}

func (a *API) deleteContact(w http.ResponseWriter, r *http.Request) {
	err := a.Store.InTx(r.Context(), func(tx *store.Tx) error {
		return tx.DeleteContact(r.Context(), clientID(r.Context()), r.PathValue("id"))
	})
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
