package cli

import (
	"runtime/debug"
	"testing"
)

func TestTheGarbageCollectorTargetDefaultsUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	env := map[string]string{"GOGC": "50"}
	if _, set := tuneGC(func(k string) string { return env[k] }); set {
		t.Fatal("tuneGC changed the target although GOGC is set")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set the target is %d, want it left at 100", got)
	}

	pct, set := tuneGC(func(string) string { return "" })
	if !set || pct != defaultGCPercent {
		t.Fatalf("tuneGC without GOGC = %d, %v; want %d, true", pct, set, defaultGCPercent)
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Fatalf("without GOGC the target is %d, want %d", got, defaultGCPercent)
	}
}
