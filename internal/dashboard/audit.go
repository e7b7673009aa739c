package dashboard

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/audit"
	"github.com/ibiki/ibiki/internal/model"
)

// The operator's audit log, and the entries the dashboard writes to it.

type auditPage struct {
	Entries []model.AuditEntry
	Next    string
	Client  string // the ?client= filter, kept when paging
}

func (d *Dashboard) auditLog(w http.ResponseWriter, r *http.Request, v *view) error {
	es, err := d.Store.Audit(r.Context(), r.URL.Query().Get("client"), r.URL.Query().Get("before"), 101)
	if err != nil {
		return err
	}
	data := auditPage{Entries: es, Client: r.URL.Query().Get("client")}
	if len(es) > 100 {
		data.Entries, data.Next = es[:100], es[99].ID
	}
	d.render(w, r, v, http.StatusOK, "audit", "Audit log", data)
	return nil
}

// audit records an action of a signed-in user (see audit.Record).
func (d *Dashboard) audit(r *http.Request, v *view, action, clientID, target, detail string) {
	e := model.AuditEntry{Actor: v.User.Email, Action: action, ClientID: clientID, Target: target, Detail: detail}
	if err := audit.Record(r.Context(), d.Store, d.Clock(), e); err != nil {
		d.Log.Error("dashboard: audit entry not recorded", "action", action, "error", err)
	}
}
