package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const serviceColumns = `id, client_id, number, name, active, spec, created_at, updated_at`

func scanService(row scanner) (model.Service, error) {
	var (
		s                model.Service
		spec             string
		created, updated int64
	)
	if err := row.Scan(&s.ID, &s.ClientID, &s.Number, &s.Name, &s.Active, &spec, &created, &updated); err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt = fromMS(created), fromMS(updated)
	if err := json.Unmarshal([]byte(spec), &s.Spec); err != nil {
		return s, fmt.Errorf("stored spec of service %s: %w", s.ID, err)
	}
	return s, nil
}

// Services lists a client's services ("" : the operator's), oldest first.
func (r reader) Services(ctx context.Context, clientID string) ([]model.Service, error) {
	rows, err := r.query(ctx, `SELECT `+serviceColumns+` FROM services WHERE client_id = ? ORDER BY id`, clientID)
	return collect(rows, err, "services", scanService)
}

// AllServices lists every service, oldest first (the operator's view).
func (r reader) AllServices(ctx context.Context) ([]model.Service, error) {
	rows, err := r.query(ctx, `SELECT `+serviceColumns+` FROM services ORDER BY id`)
	return collect(rows, err, "services", scanService)
}

// Service returns a service by id.
func (r reader) Service(ctx context.Context, id string) (model.Service, error) {
	s, err := scanService(r.queryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = ?`, id))
	return s, notFound(err, "service "+id)
}

// ClientService returns one of a client's services; another's is ErrNotFound.
func (r reader) ClientService(ctx context.Context, clientID, id string) (model.Service, error) {
	s, err := scanService(r.queryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE client_id = ? AND id = ?`, clientID, id))
	return s, notFound(err, "service "+id)
}

// ServiceByNumber returns the service on a receiving number.
func (r reader) ServiceByNumber(ctx context.Context, number string) (model.Service, error) {
	s, err := scanService(r.queryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE number = ?`, number))
	return s, notFound(err, "service on "+number)
}

// CachedServiceByNumber is ServiceByNumber through a short cache, misses included: routing asks
// it for every message.
func (s *Store) CachedServiceByNumber(ctx context.Context, number string) (model.Service, error) {
	return s.caches.services.get(ctx, number, s.ServiceByNumber)
}

// InsertService stores a new service; a number that has one is ErrConflict.
func (tx *Tx) InsertService(ctx context.Context, s model.Service) error {
	spec, err := json.Marshal(s.Spec)
	if err != nil {
		return err
	}
	tx.dropService(s.Number)
	_, err = tx.exec(ctx, `INSERT INTO services (`+serviceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.ClientID, s.Number, s.Name, s.Active, string(spec), ms(s.CreatedAt), ms(s.UpdatedAt))
	return notFound(err, "insert service")
}

// UpdateService saves a service's name, activity and spec (its number and owner stay).
func (tx *Tx) UpdateService(ctx context.Context, s model.Service) error {
	spec, err := json.Marshal(s.Spec)
	if err != nil {
		return err
	}
	tx.dropService(s.Number)
	return affected(tx.exec(ctx, `UPDATE services SET name = ?, active = ?, spec = ?, updated_at = ? WHERE id = ?`,
		s.Name, s.Active, string(spec), ms(s.UpdatedAt), s.ID))
}

// DeleteService removes a service with its sessions and buckets (its exchange log stays).
func (tx *Tx) DeleteService(ctx context.Context, s model.Service) error {
	tx.dropService(s.Number)
	for _, q := range []string{`DELETE FROM service_sessions WHERE service_id = ?`, `DELETE FROM service_buckets WHERE service_id = ?`} {
		if _, err := tx.exec(ctx, q, s.ID); err != nil {
			return err
		}
	}
	return affected(tx.exec(ctx, `DELETE FROM services WHERE id = ?`, s.ID))
}

// dropServiceOf removes the service on a number (with its sessions and buckets) when the number
// changes hands: unless keep and the service's owner is owner, and always when the number goes.
func (tx *Tx) dropServiceOf(ctx context.Context, number, owner string, keep bool) error {
	svc, err := scanService(tx.queryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE number = ?`, number))
	if err := notFound(err, "service on "+number); err == ErrNotFound {
		return nil
	} else if err != nil {
		return err
	}
	if keep && svc.ClientID == owner {
		return nil
	}
	return tx.DeleteService(ctx, svc)
}

// dropService forgets a number's cached service now and after the commit.
func (tx *Tx) dropService(number string) {
	tx.caches.services.drop(number)
	tx.after = append(tx.after, func() { tx.caches.services.drop(number) })
}

// ServiceSession returns a phone's session with a service, if one is stored and not expired at
// now.
func (r reader) ServiceSession(ctx context.Context, serviceID, phone string, now time.Time) (model.ServiceSession, bool, error) {
	var state string
	err := r.queryRow(ctx, `SELECT state FROM service_sessions WHERE service_id = ? AND phone = ? AND expires_at > ?`,
		serviceID, phone, ms(now)).Scan(&state)
	if err := notFound(err, "service session"); err == ErrNotFound {
		return model.ServiceSession{}, false, nil
	} else if err != nil {
		return model.ServiceSession{}, false, err
	}
	var s model.ServiceSession
	if err := json.Unmarshal([]byte(state), &s); err != nil {
		return s, false, fmt.Errorf("stored session %s/%s: %w", serviceID, phone, err)
	}
	return s, true, nil
}

// PutServiceSession stores a session, replacing the phone's previous one.
func (tx *Tx) PutServiceSession(ctx context.Context, s model.ServiceSession) error {
	state, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO service_sessions (service_id, phone, state, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (service_id, phone) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at`,
		s.ServiceID, s.Phone, string(state), ms(s.ExpiresAt))
	return err
}

// EndServiceSession removes a phone's session.
func (tx *Tx) EndServiceSession(ctx context.Context, serviceID, phone string) error {
	_, err := tx.exec(ctx, `DELETE FROM service_sessions WHERE service_id = ? AND phone = ?`, serviceID, phone)
	return err
}

// ActiveServiceSessions counts the sessions not expired at now.
func (r reader) ActiveServiceSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := r.queryRow(ctx, `SELECT COUNT(*) FROM service_sessions WHERE expires_at > ?`, ms(now)).Scan(&n)
	return n, err
}

// ServiceBucket returns a phone's token bucket with a service (found false: none yet).
func (r reader) ServiceBucket(ctx context.Context, serviceID, phone string) (tokens float64, at time.Time, found bool, err error) {
	var updated int64
	err = r.queryRow(ctx, `SELECT tokens, updated_at FROM service_buckets WHERE service_id = ? AND phone = ?`,
		serviceID, phone).Scan(&tokens, &updated)
	if err := notFound(err, "service bucket"); err == ErrNotFound {
		return 0, time.Time{}, false, nil
	} else if err != nil {
		return 0, time.Time{}, false, err
	}
	return tokens, fromMS(updated), true, nil
}

// PutServiceBucket stores a phone's token bucket.
func (tx *Tx) PutServiceBucket(ctx context.Context, serviceID, phone string, tokens float64, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO service_buckets (service_id, phone, tokens, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (service_id, phone) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
		serviceID, phone, tokens, ms(at))
	return err
}

// DeleteStaleServiceState removes the sessions expired before now and the buckets untouched
// since idleBefore (full again by then), and reports how many rows went.
func (tx *Tx) DeleteStaleServiceState(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{{`DELETE FROM service_sessions WHERE expires_at <= ?`, ms(now)}, {`DELETE FROM service_buckets WHERE updated_at < ?`, ms(idleBefore)}} {
		res, err := tx.exec(ctx, q.sql, q.arg)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

const exchangeColumns = `id, service_id, client_id, message_id, phone, input, command, flow, step, handled, reason,
	response, reply_id, callout_status, callout_ms, created_at`

func scanExchange(row scanner) (model.ServiceExchange, error) {
	var (
		e       model.ServiceExchange
		created int64
	)
	err := row.Scan(&e.ID, &e.ServiceID, &e.ClientID, &e.MessageID, &e.Phone, &e.Input, &e.Command, &e.Flow, &e.Step,
		&e.Handled, &e.Reason, &e.Response, &e.ReplyID, &e.CalloutStatus, &e.CalloutMS, &created)
	e.CreatedAt = fromMS(created)
	return e, err
}

// InsertExchange logs what a service did with a message. A message already logged (the job ran
// before) is ErrConflict.
func (tx *Tx) InsertExchange(ctx context.Context, e model.ServiceExchange) error {
	_, err := tx.exec(ctx, `INSERT INTO service_exchanges (`+exchangeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ServiceID, e.ClientID, e.MessageID, e.Phone, e.Input, e.Command, e.Flow, e.Step, e.Handled, e.Reason,
		e.Response, e.ReplyID, e.CalloutStatus, e.CalloutMS, ms(e.CreatedAt))
	return notFound(err, "log exchange")
}

// ExchangeOfMessage returns the exchange logged for a message.
func (r reader) ExchangeOfMessage(ctx context.Context, messageID string) (model.ServiceExchange, error) {
	e, err := scanExchange(r.queryRow(ctx, `SELECT `+exchangeColumns+` FROM service_exchanges WHERE message_id = ?`, messageID))
	return e, notFound(err, "exchange of "+messageID)
}

// ServiceExchanges lists a service's exchange log, newest first, before the id before ("" : from
// the newest).
func (r reader) ServiceExchanges(ctx context.Context, serviceID, before string, limit int) ([]model.ServiceExchange, error) {
	q, args := `SELECT `+exchangeColumns+` FROM service_exchanges WHERE service_id = ?`, []any{serviceID}
	if before != "" {
		q, args = q+` AND id < ?`, append(args, before)
	}
	rows, err := r.query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	return collect(rows, err, "exchanges", scanExchange)
}

// SetContactFromService writes what a contact told a service on the client's contact for the
// phone (a new contact when there is none): the fields of info that set names (first_name,
// last_name, business). The contact becomes the client's own (origin ”): it registered.
func (tx *Tx) SetContactFromService(ctx context.Context, id, clientID, phone string, info model.ContactInfo, set []string, at time.Time) error {
	if len(set) == 0 {
		return nil
	}
	values := map[string]string{"first_name": info.FirstName, "last_name": info.LastName, "business": info.Business}
	assign, args := "", []any{id, clientID, phone, info.FirstName, info.LastName, info.Business, ms(at), ms(at)}
	for _, f := range set {
		v, ok := values[f]
		if !ok {
			return fmt.Errorf("store: contact field %q", f)
		}
		assign += f + " = ?, "
		args = append(args, v)
	}
	_, err := tx.exec(ctx, `INSERT INTO contacts (`+contactColumns+`) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)
		ON CONFLICT (client_id, phone) DO UPDATE SET `+assign+`origin = '', updated_at = excluded.updated_at`, args...)
	return err
}

// TagContactByPhone adds (or, add false, removes) a tag on the client's contact for phone; adding
// creates the contact when there is none (id).
func (tx *Tx) TagContactByPhone(ctx context.Context, id, clientID, phone, tag string, add bool, at time.Time) error {
	if !add {
		_, err := tx.exec(ctx, `DELETE FROM contact_tags WHERE client_id = ? AND tag = ?
			AND contact_id IN (SELECT id FROM contacts WHERE client_id = ? AND phone = ?)`, clientID, tag, clientID, phone)
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO contacts (`+contactColumns+`) VALUES (?, ?, ?, '', '', '', '{}', ?, ?)
		ON CONFLICT (client_id, phone) DO NOTHING`, id, clientID, phone, ms(at), ms(at)); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO contact_tags (client_id, tag, contact_id)
		SELECT ?, ?, id FROM contacts WHERE client_id = ? AND phone = ? ON CONFLICT DO NOTHING`, clientID, tag, clientID, phone)
	return err
}

// JobsWaitingOn reports whether a job with this order key is queued, running or waiting.
func (r reader) JobsWaitingOn(ctx context.Context, orderKey string) (bool, error) {
	var one int
	err := r.queryRow(ctx, `SELECT 1 FROM jobs WHERE order_key = ? AND order_key <> ''
		AND state IN ('queued', 'running', 'waiting') LIMIT 1`, orderKey).Scan(&one)
	if err := notFound(err, "jobs on "+orderKey); err == ErrNotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}
