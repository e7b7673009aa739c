package dashboard

import (
	"net/http"

	"github.com/ibiki/ibiki/internal/model"
)

// A client's balance and ledger.

type balancePage struct {
	Balance int64
	Rate    int64
	Ledger  []model.LedgerEntry
	Next    string
}

func (d *Dashboard) balancePage(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.balanceData(r, v.Client.ID, r.URL.Query().Get("before"))
	if err != nil {
		return err
	}
	data.Rate = v.Client.RateCents
	d.render(w, r, v, http.StatusOK, "balance", "Balance", data)
	return nil
}

func (d *Dashboard) balanceData(r *http.Request, clientID, before string) (balancePage, error) {
	var data balancePage
	var err error
	if data.Balance, err = d.Store.Balance(r.Context(), clientID); err != nil {
		return data, err
	}
	ls, err := d.Store.Ledger(r.Context(), clientID, before, 51)
	if err != nil {
		return data, err
	}
	if len(ls) > 50 {
		ls, data.Next = ls[:50], ls[49].ID
	}
	data.Ledger = ls
	return data, nil
}
