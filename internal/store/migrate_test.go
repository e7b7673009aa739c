package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/store"
)

// Every migration can be undone and applied again, on the engine the suite runs on.
func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, ibikitest.DatabaseURL(t), store.Options{})
	ibikitest.Must(t, err)
	t.Cleanup(func() { s.Close() })
	up, err := s.Migrate(ctx)
	ibikitest.Must(t, err)
	if len(up) == 0 {
		t.Fatal("no migration applied to a new database")
	}
	down, err := s.MigrateDownTo(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(up)
	slices.Reverse(want)
	if fmt.Sprint(down) != fmt.Sprint(want) {
		t.Fatalf("undid %v, want %v", down, want)
	}
	again, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again) != fmt.Sprint(up) {
		t.Fatalf("applied %v the second time, want %v", again, up)
	}
}
