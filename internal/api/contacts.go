package api

import (
	"net/http"
	"slices"
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

// Limits of contact fields: generous for names, small enough to keep rows and exports sane.
const (
	maxNameLen   = 256
	maxFields    = 50
	maxFieldKey  = 64
	maxFieldText = 1024
)

// createContact: POST /api/v1/contacts → 201. It takes an Idempotency-Key.
func (a *API) createContact(w http.ResponseWriter, r *http.Request) {
	client := clientID(r.Context())
	a.idempotent(w, r, client, func(body []byte, save saveFunc) (int, any, error) {
		c, err := a.newContact(r, client, body)
		if err != nil {
			return 0, nil, err
		}
		err = a.Store.InTx(r.Context(), func(tx *store.Tx) error {
			if err := a.checkOwnership(r, tx, c.ClientID, c.Phone); err != nil {
				return err
			}
			if err := tx.InsertContact(r.Context(), c); err != nil {
				return err
			}
			if err := tx.SetContactTags(r.Context(), c.ClientID, c.ID, c.Tags); err != nil {
				return err
			}
			if save == nil {
				return nil
			}
			return save(tx, http.StatusCreated, contactJSON(c))
		})
		if isConflict(err) {
			err = keepCause(&respond.Error{Status: http.StatusConflict, Code: "contact_exists",
				Message: "this phone is already one of your contacts", Param: "phone"}, err)
		}
		return http.StatusCreated, contactJSON(c), err
	})
}

// newContact reads and checks a contact to create.
func (a *API) newContact(r *http.Request, client string, body []byte) (model.Contact, error) {
	var in struct {
		Phone     string            `json:"phone"`
		FirstName string            `json:"first_name"`
		LastName  string            `json:"last_name"`
		Business  string            `json:"business"`
		Fields    map[string]string `json:"fields"`
		Tags      []string          `json:"tags"`
	}
	if err := decodeBytes(r, body, &in); err != nil {
		return model.Contact{}, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return model.Contact{}, err
	}
	phone, err := a.phoneParam("phone", in.Phone)
	if err != nil {
		return model.Contact{}, err
	}
	for name, v := range map[string]*string{"first_name": &in.FirstName, "last_name": &in.LastName, "business": &in.Business} {
		if err := checkName(name, v); err != nil {
			return model.Contact{}, err
		}
	}
	if err := checkFields(in.Fields); err != nil {
		return model.Contact{}, err
	}
	now := a.now()
	c := model.Contact{ID: model.NewIDAt(model.PrefixContact, now), ClientID: client, Phone: phone,
		FirstName: in.FirstName, LastName: in.LastName, Business: in.Business, Fields: in.Fields, Tags: tags,
		CreatedAt: now, UpdatedAt: now}
	return c, nil
}

// phoneParam reads a required phone field into E.164: missing_field when empty, invalid_field
// with the reason when it is not a possible number.
func (a *API) phoneParam(param, raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", respond.Missing(param)
	}
	phone, err := sms.NormalizeE164(raw, a.Region)
	if err != nil {
		return "", respond.Invalid(param, err.Error())
	}
	return phone, nil
}

// checkOwnership applies the operator's rule "one phone, one client" (IBIKI_CONTACT_CONFLICTS)
// to a contact added or changed by the API, as imports do. It does not say which client. It
// runs in the transaction that writes the contact, so that two clients adding the same phone
// at once cannot both pass.
func (a *API) checkOwnership(r *http.Request, tx *store.Tx, clientID, phone string) error {
	if a.Importer == nil || a.Importer.AllowConflicts {
		return nil
	}
	taken, err := tx.PhoneTaken(r.Context(), clientID, phone)
	if err != nil || !taken {
		return err
	}
	return &respond.Error{Status: http.StatusConflict, Code: "phone_belongs_to_another_client",
		Message: "this phone is another client's contact (one phone, one client: ask the operator)", Param: "phone"}
}

// checkName trims a name field and checks its length.
func checkName(name string, v *string) error {
	*v = strings.TrimSpace(*v)
	if utf8.RuneCountInString(*v) > maxNameLen || strings.ContainsRune(*v, 0) {
		return respond.Invalid(name, name+" must be at most 256 characters of text")
	}
	return nil
}

// checkTags trims tags, drops repeats, and checks their number and length.
func checkTags(tags []string) ([]string, error) {
	if len(tags) > maxFields {
		return nil, respond.Invalid("tags", "at most 50 tags")
	}
	var out []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > 100 || strings.ContainsRune(t, 0) {
			return nil, respond.Invalid("tags", "tags are 1-100 characters of text")
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
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
	c, err := a.contactWithTags(r, r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, contactJSON(c))
}

func (a *API) contactWithTags(r *http.Request, id string) (model.Contact, error) {
	client := clientID(r.Context())
	c, err := a.Store.Contact(r.Context(), client, id)
	if err != nil {
		return c, err
	}
	tags, err := a.Store.ContactTags(r.Context(), client, []string{id})
	c.Tags = tags[id]
	return c, err
}

// updateContact: PATCH /api/v1/contacts/{id}: any of phone, first_name, last_name, business,
// fields (replaces them all) and tags (replaces them all).
func (a *API) updateContact(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Phone     *string            `json:"phone"`
		FirstName *string            `json:"first_name"`
		LastName  *string            `json:"last_name"`
		Business  *string            `json:"business"`
		Fields    *map[string]string `json:"fields"`
		Tags      *[]string          `json:"tags"`
	}
	if err := respond.Decode(r, &in); err != nil {
		respond.Err(w, r, err)
		return
	}
	c, err := a.contactWithTags(r, r.PathValue("id"))
	if err != nil {
		respond.Err(w, r, err)
		return
	}
	if in.Phone != nil {
		if c.Phone, err = a.phoneParam("phone", *in.Phone); err != nil {
			respond.Err(w, r, err)
			return
		}
	}
	for name, p := range map[string]struct{ in, out *string }{"first_name": {in.FirstName, &c.FirstName},
		"last_name": {in.LastName, &c.LastName}, "business": {in.Business, &c.Business}} {
		if p.in == nil {
			continue
		}
		if err := checkName(name, p.in); err != nil {
			respond.Err(w, r, err)
			return
		}
		*p.out = *p.in
	}
	if in.Fields != nil {
		if err := checkFields(*in.Fields); err != nil {
			respond.Err(w, r, err)
			return
		}
		c.Fields = *in.Fields
	}
	if in.Tags != nil {
		if c.Tags, err = checkTags(*in.Tags); err != nil {
			respond.Err(w, r, err)
			return
		}
	}
	c.UpdatedAt = a.now()
	err = a.Store.InTx(r.Context(), func(tx *store.Tx) error {
		if in.Phone != nil {
			if err := a.checkOwnership(r, tx, c.ClientID, c.Phone); err != nil {
				return err
			}
		}
		if err := tx.UpdateContact(r.Context(), c); err != nil {
			return err
		}
		if in.Tags == nil {
			return nil
		}
		return tx.SetContactTags(r.Context(), c.ClientID, c.ID, c.Tags)
	})
	if isConflict(err) {
		err = &respond.Error{Status: http.StatusConflict, Code: "contact_exists",
			Message: "another of your contacts has this phone", Param: "phone"}
	}
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
