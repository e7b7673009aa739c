package store

import (
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
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
		args = append(args, 1, "sink", "other") // the validity's time, the providers
		plan := planOf(t, s, startSendsQuery(n, 2), args...)
		if len(plan) == 0 || !strings.Contains(plan[0], "sqlite_autoindex_messages_1 (id=?)") {
			t.Errorf("%d ids: plan %q, want the messages reached by id", n, plan)
		}
	}
}

// planOf returns SQLite's query plan of q, one line a step.
func planOf(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.write.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// The send queue's statements reach their rows through the index made for each, whatever the
// length of their lists: none walks the messages table, or the whole queue, to find a few.
func TestSendQueueStatementsUseTheirIndexes(t *testing.T) {
	s, _ := openSQLiteForTest(t, 1)
	uses := func(t *testing.T, plan []string, want string) {
		t.Helper()
		for _, step := range plan {
			if strings.Contains(step, "SCAN messages") && !strings.Contains(step, "messages_send_lease") {
				t.Errorf("plan %q walks the messages", plan)
				return
			}
		}
		if !strings.Contains(strings.Join(plan, "\n"), want) {
			t.Errorf("plan %q, want it to use %s", plan, want)
		}
	}
	t.Run("queue", func(t *testing.T) {
		args := make([]any, len(messageArgs(model.Message{}))+6)
		for i := range args {
			args[i] = "x"
		}
		uses(t, planOf(t, s, queueOutbound, args...), "messages_send_order (q_key=?)")
	})
	t.Run("claim", func(t *testing.T) {
		uses(t, planOf(t, s, claimSendsQuery(""), 1, "me", "acme", 0, 1, 10), "messages_send_ready (client_id=? AND q_priority=? AND q_run_at<?)")
	})
	for _, n := range []int{1, 8, 64, 256} {
		keys := make([]any, n)
		pairs := make([]any, 0, 2*n)
		for i := range keys {
			keys[i] = i
			pairs = append(pairs, i, 1)
		}
		t.Run("promote", func(t *testing.T) {
			uses(t, planOf(t, s, promoteSendsQuery(n), keys...), "messages_send_order (q_key=?)")
		})
		t.Run("finish", func(t *testing.T) {
			// By id, or through the running sends (as many as the send slots).
			plan := strings.Join(planOf(t, s, finishSendsQuery(n), pairs...), "\n")
			if !strings.Contains(plan, "sqlite_autoindex_messages_1 (id=?") && !strings.Contains(plan, "messages_send_lease") {
				t.Errorf("%d sends: plan %q, want the messages reached by id or among the running ones", n, plan)
			}
		})
	}
}
