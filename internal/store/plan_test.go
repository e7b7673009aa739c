package store

import (
	"strings"
	"testing"
)

// The claim's step for a batch of sends reaches its messages through the primary key, however
// long the batch: without statistics SQLite's planner chose, for 64 ids, to walk every message
// of the provider instead (13 times slower on a table of 30,000, and slower as it grows).
func TestStartSendsReachesMessagesByTheirIDs(t *testing.T) {
	s, _ := openSQLiteForTest(t, 1)
	for _, n := range []int{1, 8, 64, 256} {
		args := []any{1, 1}
		for i := range n {
			args = append(args, i)
		}
		args = append(args, "sink", "other")
		rows, err := s.write.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+startSendsQuery(n, 2), args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if len(plan) == 0 || !strings.Contains(plan[0], "sqlite_autoindex_messages_1 (id=?)") {
			t.Errorf("%d ids: plan %q, want the messages reached by id", n, plan)
		}
	}
}
