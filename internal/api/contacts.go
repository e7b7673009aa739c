package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ibiki/ibiki/internal/contact"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/store"
)

type contactOut struct {
	ID        string            `json:"id"`
	Phone     string            `json:"phone"`
	FirstName string            `json:"first_name"`
	LastName  string            `json:"last_name"`
	Business  string            `json:"business"`
	Fields    map[string]string `json:"fields"`
	Tags      []string          `json:"tags"`
	CreatedAt string            `json:"created_at"`
	UpdatedAt string            `json:"updated_at"`
}

func contactJSON(c model.Contact) contactOut {
	out := contactOut{ID: c.ID, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName, Business: c.Business,
		Fields: c.Fields, CreatedAt: formatTime(c.CreatedAt), UpdatedAt: formatTime(c.UpdatedAt)}
	if out.Fields == nil {
		out.Fields = map[string]string{}
	}
	out.Tags = c.Tags
	if out.Tags == nil {
		out.Tags = []string{}
	}
	return out
}

// contactErr maps the contact service's errors onto the catalogue: its field errors keep their
// field and message; contact_exists says what exists in the words of the route (exists), with
// the conflict kept underneath for lostRace.
func contactErr(err error, exists string) error {
	var fe *contact.FieldError
	switch {
	case errors.As(err, &fe) && fe.Missing:
		return respond.Missing(fe.Field)
	case errors.As(err, &fe):
		return respond.Invalid(fe.Field, fe.Message)
	case errors.Is(err, contact.ErrPhoneTaken):
		return &respond.Error{Status: http.StatusConflict, Code: "phone_belongs_to_another_client",
			Message: "this phone is another client's contact (one phone, one client: ask the operator)", Param: "phone"}
	case errors.Is(err, contact.ErrExists):
		return keepCause(&respond.Error{Status: http.StatusConflict, Code: "contact_exists", Message: exists, Param: "phone"}, err)
	}
	return err
}

// createContactIn is the body of POST /api/v1/contacts.
type createContactIn struct {
	Phone     string            `json:"phone"`
	FirstName string            `json:"first_name"`
	LastName  string            `json:"last_name"`
	Business  string            `json:"business"`
	Fields    map[string]string `json:"fields"`
	Tags      []string          `json:"tags"`
}

// createContact: POST /api/v1/contacts → 201. It takes an Idempotency-Key.
func (a *API) createContact(w http.ResponseWriter, r *http.Request) {
	a.idempotent(w, r, clientID(r.Context()), answerWith(http.StatusCreated, contactJSON), func(r *http.Request, body []byte) (int, any, error) {
		var in createContactIn
		if err := respond.DecodeBytes(body, &in); err != nil {
			return 0, nil, err
		}
		c, err := a.Contacts.Create(r.Context(), clientID(r.Context()), contact.Input{Phone: in.Phone, Details: contact.Details{
			FirstName: in.FirstName, LastName: in.LastName, Business: in.Business, Fields: in.Fields, Tags: in.Tags}})
		if err != nil {
			return 0, nil, contactErr(err, "this phone is already one of your contacts")
		}
		return http.StatusCreated, contactJSON(c), nil
	})
}

func (a *API) listContacts(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	f := store.ContactFilter{Q: strings.TrimSpace(r.URL.Query().Get("q")), Tag: strings.TrimSpace(r.URL.Query().Get("tag"))}
	if len(f.Q) > 100 {
		respond.Err(w, r, respond.Invalid("q", "q must be at most 100 characters"))
		return
	}
	cs, err := a.Store.Contacts(r.Context(), clientID(r.Context()), f, cursor, limit)
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
	c, err := a.Contacts.Get(r.Context(), clientID(r.Context()), r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, contactJSON(c))
}

// updateContactIn is the body of PATCH /api/v1/contacts/{id}: the fields to change.
type updateContactIn struct {
	Phone     *string            `json:"phone"`
	FirstName *string            `json:"first_name"`
	LastName  *string            `json:"last_name"`
	Business  *string            `json:"business"`
	Fields    *map[string]string `json:"fields"`
	Tags      *[]string          `json:"tags"`
}

// updateContact: PATCH /api/v1/contacts/{id}: any of phone, first_name, last_name, business,
// fields (replaces them all) and tags (replaces them all).
func (a *API) updateContact(w http.ResponseWriter, r *http.Request) {
	var in updateContactIn
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	c, err := a.Contacts.Update(r.Context(), clientID(r.Context()), r.PathValue("id"), contact.Changes{Phone: in.Phone,
		FirstName: in.FirstName, LastName: in.LastName, Business: in.Business, Fields: in.Fields, Tags: in.Tags})
	if err != nil {
		respond.Err(w, r, contactErr(err, "another of your contacts has this phone"))
		return
	}
	respond.JSON(w, http.StatusOK, contactJSON(c))
}

func (a *API) deleteContact(w http.ResponseWriter, r *http.Request) {
	if err := a.Contacts.Delete(r.Context(), clientID(r.Context()), r.PathValue("id")); err != nil {
		respond.Err(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
