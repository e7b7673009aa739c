package store

import (
	"context"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/model"
)

const campaignColumns = `id, client_id, name, message, status, schedule_at, total, invalid, cost_cents, report,
	quiet_hours, created_at, started_at, finished_at`

func scanCampaign(row scanner) (model.Campaign, error) {
	var (
		c                                    model.Campaign
		schedule, created, started, finished int64
	)
	err := row.Scan(&c.ID, &c.ClientID, &c.Name, &c.Message, &c.Status, &schedule, &c.Total, &c.Invalid, &c.CostCents,
		&c.Report, &c.QuietHours, &created, &started, &finished)
	c.ScheduleAt, c.CreatedAt, c.StartedAt, c.FinishedAt = fromMS(schedule), fromMS(created), fromMS(started), fromMS(finished)
	return c, err
}

// InsertCampaign stores a new campaign.
func (tx *Tx) InsertCampaign(ctx context.Context, c model.Campaign) error {
	_, err := tx.exec(ctx, `INSERT INTO campaigns (`+campaignColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ClientID, c.Name, c.Message, c.Status, ms(c.ScheduleAt), c.Total, c.Invalid, c.CostCents, c.Report,
		c.QuietHours, ms(c.CreatedAt), ms(c.StartedAt), ms(c.FinishedAt))
	return notFound(err, "insert campaign")
}

// UpdateCampaign saves a campaign's counters, report and times.
func (tx *Tx) UpdateCampaign(ctx context.Context, c model.Campaign) error {
	return affected(tx.exec(ctx, `UPDATE campaigns SET total = ?, invalid = ?, cost_cents = ?, report = ?, schedule_at = ?,
		started_at = ?, finished_at = ? WHERE client_id = ? AND id = ?`, c.Total, c.Invalid, c.CostCents, c.Report,
		ms(c.ScheduleAt), ms(c.StartedAt), ms(c.FinishedAt), c.ClientID, c.ID))
}

// SetCampaignStatus moves a campaign from one of the statuses in `from` to `to`; a campaign in
// another status is ErrNotFound (the move is not allowed from there). Starting to send stamps
// started_at (once), ending stamps finished_at.
func (tx *Tx) SetCampaignStatus(ctx context.Context, clientID, id string, to model.CampaignStatus, at time.Time, from ...model.CampaignStatus) error {
	set, args := `status = ?`, []any{to}
	switch {
	case to == model.CampaignSending:
		set, args = set+`, started_at = CASE WHEN started_at = 0 THEN ? ELSE started_at END`, append(args, ms(at))
	case to.Done():
		set, args = set+`, finished_at = ?`, append(args, ms(at))
	}
	args = append(args, clientID, id)
	for _, f := range from {
		args = append(args, f)
	}
	return affected(tx.exec(ctx, `UPDATE campaigns SET `+set+` WHERE client_id = ? AND id = ? AND status IN (`+
		placeholders(len(from))+`)`, args...))
}

// Campaign returns one of a client's campaigns.
func (r reader) Campaign(ctx context.Context, clientID, id string) (model.Campaign, error) {
	c, err := scanCampaign(r.queryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE client_id = ? AND id = ?`, clientID, id))
	return c, notFound(err, "campaign "+id)
}

// CampaignState reads what the send job asks before each send: a campaign's status and
// whether it keeps quiet hours.
func (r reader) CampaignState(ctx context.Context, id string) (status model.CampaignStatus, quiet bool, err error) {
	err = r.queryRow(ctx, `SELECT status, quiet_hours FROM campaigns WHERE id = ?`, id).Scan(&status, &quiet)
	return status, quiet, notFound(err, "campaign "+id)
}

// Campaigns lists a client's campaigns newest first, before the cursor id.
func (r reader) Campaigns(ctx context.Context, clientID, before string, limit int) ([]model.Campaign, error) {
	q, args := newestFirst(`SELECT `+campaignColumns+` FROM campaigns WHERE client_id = ?`, []any{clientID}, before, limit)
	rows, err := r.query(ctx, q, args...)
	return collect(rows, err, "campaigns", scanCampaign)
}

const recipientColumns = `campaign_id, seq, line, phone, body, segments, encoding, cost_cents, status, message_id, error`

func scanRecipient(row scanner) (model.Recipient, error) {
	var rc model.Recipient
	err := row.Scan(&rc.CampaignID, &rc.Seq, &rc.Line, &rc.Phone, &rc.Body, &rc.Segments, &rc.Encoding, &rc.CostCents,
		&rc.Status, &rc.MessageID, &rc.Error)
	return rc, err
}

// AddRecipients stores recipients of a campaign, many per statement, and returns how many it
// added: a phone already in the campaign is skipped (a duplicate).
func (tx *Tx) AddRecipients(ctx context.Context, rs []model.Recipient) (int64, error) {
	const cols, per = 11, 1000
	var added int64
	for len(rs) > 0 {
		n := min(len(rs), per)
		var q strings.Builder
		q.WriteString(`INSERT INTO campaign_recipients (` + recipientColumns + `) VALUES `)
		args := make([]any, 0, n*cols)
		for i, rc := range rs[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, rc.CampaignID, rc.Seq, rc.Line, rc.Phone, rc.Body, rc.Segments, rc.Encoding, rc.CostCents,
				rc.Status, rc.MessageID, rc.Error)
		}
		q.WriteString(` ON CONFLICT (campaign_id, phone) DO NOTHING`)
		res, err := tx.exec(ctx, q.String(), args...)
		if err != nil {
			return added, notFound(err, "add recipients")
		}
		k, err := res.RowsAffected()
		if err != nil {
			return added, err
		}
		added, rs = added+k, rs[n:]
	}
	return added, nil
}

// PendingRecipients returns up to limit recipients not yet queued, in order.
func (r reader) PendingRecipients(ctx context.Context, campaignID string, limit int) ([]model.Recipient, error) {
	rows, err := r.query(ctx, `SELECT `+recipientColumns+` FROM campaign_recipients WHERE campaign_id = ? AND status = 'pending'
		ORDER BY seq LIMIT ?`, campaignID, limit)
	return collect(rows, err, "recipients", scanRecipient)
}

// SetRecipient records what became of a pending recipient.
func (tx *Tx) SetRecipient(ctx context.Context, rc model.Recipient) error {
	return affected(tx.exec(ctx, `UPDATE campaign_recipients SET status = ?, message_id = ?, error = ?
		WHERE campaign_id = ? AND seq = ? AND status = 'pending'`, rc.Status, rc.MessageID, rc.Error, rc.CampaignID, rc.Seq))
}

// CancelPending marks every pending recipient cancelled and returns the sum of the costs of
// exactly the rows it changed (one statement: a feeder queueing some meanwhile cannot have them
// both queued and refunded).
func (tx *Tx) CancelPending(ctx context.Context, campaignID string) (int64, error) {
	rows, err := tx.query(ctx, `UPDATE campaign_recipients SET status = 'cancelled' WHERE campaign_id = ? AND status = 'pending'
		RETURNING cost_cents`, campaignID)
	costs, err := collect(rows, err, "cancel recipients", func(row scanner) (int64, error) {
		var c int64
		return c, row.Scan(&c)
	})
	var sum int64
	for _, c := range costs {
		sum += c
	}
	return sum, err
}

// LockCampaign reads one of a client's campaigns for a change, locking its row on PostgreSQL so
// that status changes, the start's charge and the feeder take turns (SQLite has one writer).
func (tx *Tx) LockCampaign(ctx context.Context, clientID, id string) (model.Campaign, error) {
	lock := ""
	if tx.engine == Postgres {
		lock = " FOR UPDATE"
	}
	c, err := scanCampaign(tx.queryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE client_id = ? AND id = ?`+lock, clientID, id))
	return c, notFound(err, "campaign "+id)
}

// repliedExpr says whether the recipient of message m wrote back within the window: an inbound
// message in the same conversation received after m was handed to the provider and at most
// window after that. The window runs from the send, not from when m was queued: a message held
// by quiet hours or a pause loses none of it, and what came in before the send is no reply.
// (i.client_id = m.client_id and i.id > m.id repeat "same conversation" and "after" in the
// index's terms: a conversation is one client's, and ids are time-ordered.)
const repliedExpr = `EXISTS (SELECT 1 FROM messages i WHERE i.conversation_id = m.conversation_id
	AND i.client_id = m.client_id AND i.id > m.id
	AND i.direction = 'inbound' AND m.sent_at > 0 AND i.created_at >= m.sent_at AND i.created_at <= m.sent_at + ?)`

// Recipients lists a campaign's recipients in order after the cursor seq, optionally those
// whose recipient status or message status is `status` (as CampaignCounts counts them:
// "cancelled" includes the messages failed with CampaignCancelledCode, "failed" does not),
// each with whether they replied within the window.
func (r reader) Recipients(ctx context.Context, campaignID, status string, after int64, limit int, window time.Duration) ([]model.Recipient, error) {
	q := `SELECT ` + prefixed("r.", recipientColumns) + `, COALESCE(m.status, ''), COALESCE(m.error_code, ''),
		CASE WHEN m.id IS NOT NULL AND ` + repliedExpr + ` THEN 1 ELSE 0 END
		FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id WHERE r.campaign_id = ? AND r.seq > ?`
	args := []any{window.Milliseconds(), campaignID, after}
	switch status {
	case "":
	case string(model.RecipientCancelled): // with the queued messages the cancel stopped
		q, args = q+` AND (r.status = ? OR m.error_code = '`+CampaignCancelledCode+`')`, append(args, status)
	default:
		q, args = q+` AND (r.status = ? OR (m.status = ? AND m.error_code <> '`+CampaignCancelledCode+`'))`,
			append(args, status, status)
	}
	rows, err := r.query(ctx, q+` ORDER BY r.seq LIMIT ?`, append(args, limit)...)
	return collect(rows, err, "recipients", func(row scanner) (model.Recipient, error) {
		var (
			rc      model.Recipient
			replied int
		)
		err := row.Scan(&rc.CampaignID, &rc.Seq, &rc.Line, &rc.Phone, &rc.Body, &rc.Segments, &rc.Encoding, &rc.CostCents,
			&rc.Status, &rc.MessageID, &rc.Error, &rc.MessageStatus, &rc.ErrorCode, &replied)
		rc.Replied = replied == 1
		return rc, err
	})
}

// CampaignReplied counts the recipients who wrote back within the window after their message.
func (r reader) CampaignReplied(ctx context.Context, campaignID string, window time.Duration) (int64, error) {
	var n int64
	err := r.queryRow(ctx, `SELECT COUNT(*) FROM campaign_recipients r JOIN messages m ON m.id = r.message_id
		WHERE r.campaign_id = ? AND `+repliedExpr, campaignID, window.Milliseconds()).Scan(&n)
	return n, err
}

// CampaignCancelledCode is the error code of a campaign's message failed unsent because the
// campaign was cancelled (or failed) before its turn.
const CampaignCancelledCode = "campaign_cancelled"

// CampaignCounts counts a campaign's recipients by where they are: not yet queued, opted out,
// cancelled, and their messages by status ("cancelled" for those failed with
// CampaignCancelledCode).
func (r reader) CampaignCounts(ctx context.Context, campaignID string) (map[string]int64, error) {
	out := map[string]int64{}
	rows, err := r.query(ctx, `SELECT status, COUNT(*) FROM campaign_recipients WHERE campaign_id = ? AND status <> 'queued'
		GROUP BY status`, campaignID)
	pairs, err := collect(rows, err, "campaign counts", scanCount)
	if err != nil {
		return nil, err
	}
	for _, p := range pairs {
		out["recipient:"+p.k] = p.n
	}
	// A message failed because its campaign was cancelled before its turn was never sent: it
	// counts apart ("message:cancelled"), not with the messages that failed at the provider.
	rows, err = r.query(ctx, `SELECT CASE WHEN status = 'failed' AND error_code = '`+CampaignCancelledCode+`' THEN 'cancelled'
		ELSE status END, COUNT(*) FROM messages WHERE campaign_id = ? GROUP BY 1`, campaignID)
	pairs, err = collect(rows, err, "campaign message counts", scanCount)
	for _, p := range pairs {
		out["message:"+p.k] = p.n
	}
	return out, err
}

type count struct {
	k string
	n int64
}

func scanCount(row scanner) (count, error) {
	var c count
	return c, row.Scan(&c.k, &c.n)
}

// RecipientEncodings counts a campaign's recipients by the encoding of their message ("GSM-7",
// "UCS-2"), and their segments in all.
func (r reader) RecipientEncodings(ctx context.Context, campaignID string) (map[string]int64, int64, error) {
	rows, err := r.query(ctx, `SELECT encoding, COUNT(*), COALESCE(SUM(segments), 0) FROM campaign_recipients
		WHERE campaign_id = ? GROUP BY encoding`, campaignID)
	if err != nil {
		return nil, 0, notFound(err, "recipient encodings")
	}
	defer rows.Close()
	out, segments := map[string]int64{}, int64(0)
	for rows.Next() {
		var (
			enc   string
			n, sg int64
		)
		if err := rows.Scan(&enc, &n, &sg); err != nil {
			return nil, 0, notFound(err, "recipient encodings")
		}
		out[enc], segments = n, segments+sg
	}
	return out, segments, notFound(rows.Err(), "recipient encodings")
}

// RecipientsCost is the price of a campaign's recipients (what starting it reserves).
func (r reader) RecipientsCost(ctx context.Context, campaignID string) (int64, error) {
	var sum int64
	err := r.queryRow(ctx, `SELECT COALESCE(SUM(cost_cents), 0) FROM campaign_recipients WHERE campaign_id = ?`,
		campaignID).Scan(&sum)
	return sum, err
}

// InFlight counts a campaign's messages waiting in the send queue (queued or being sent).
func (r reader) InFlight(ctx context.Context, campaignID string) (int64, error) {
	var n int64
	err := r.queryRow(ctx, `SELECT COUNT(*) FROM messages WHERE campaign_id = ? AND status IN ('queued', 'sending')`,
		campaignID).Scan(&n)
	return n, err
}
