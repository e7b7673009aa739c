package csvimport_test

import (
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/csvimport"
)

// rows reads every row: "line ok" or "line error text".
func rows(t *testing.T, file string, opt csvimport.Options) []string {
	t.Helper()
	r, err := csvimport.Open(strings.NewReader(file), opt)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		s := "ok"
		if row.Err != nil {
			s = row.Err.Error()
		}
		out = append(out, strconv.Itoa(row.Line)+" "+s)
	}
}

// A cell longer than MaxCell is no contact's field: its row is invalid, with its line and the
// field named, while the rows around it read as usual.
func TestLongCells(t *testing.T) {
	long := strings.Repeat("x", csvimport.MaxCell+1)
	tests := []struct {
		name string
		file string
		opt  csvimport.Options
		want []string
	}{
		{"a cell of exactly MaxCell bytes is read", "phone,notes\n+15551230001," + long[1:] + "\n", csvimport.Options{},
			[]string{"2 ok"}},
		{"a longer cell makes its row invalid, naming its field", "phone,notes\n+15551230001," + long + "\n+15551230002,ok\n",
			csvimport.Options{}, []string{"2 notes is too long: a cell holds at most 65536 bytes", "3 ok"}},
		{"a long first name is named as the field it fills", "phone,first name\n+15551230001," + long + "\n",
			csvimport.Options{}, []string{"2 first_name is too long: a cell holds at most 65536 bytes"}},
		{"a long cell in an ignored column does not matter", "phone,notes\n+15551230001," + long + "\n",
			csvimport.Options{IgnoreExtra: true}, []string{"2 ok"}},
		{"a long quoted cell over many lines keeps the next rows' lines true",
			"phone,notes\n+15551230001,\"" + strings.Repeat(long[:1000]+"\n", 300) + "\"\n+15551230002,ok\nbad,x\n",
			csvimport.Options{}, []string{"2 notes is too long: a cell holds at most 65536 bytes", "303 ok", "304 invalid phone"}},
		{"a long cell in a file without a header", "+15551230001," + long + "\n+15551230002,x\n",
			csvimport.Options{}, []string{"1 column_2 is too long: a cell holds at most 65536 bytes", "2 ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rows(t, tt.file, tt.opt)
			if len(got) != len(tt.want) {
				t.Fatalf("rows %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("row %d = %.120q, want %q…", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// Reading a 30,000,000-character cell allocates a small part of it: the cell is cut as it
// streams in, not held whole by encoding/csv (which kept several copies of it).
func TestAGiantCellIsNotHeldInMemory(t *testing.T) {
	file := "phone,notes\n+15551230001," + strings.Repeat("n", 30_000_000) + "\n+15551230002,ok\n"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got := rows(t, file, csvimport.Options{})
	runtime.ReadMemStats(&after)
	if len(got) != 2 || !strings.Contains(got[0], "notes is too long") || got[1] != "3 ok" {
		t.Errorf("rows = %.200q", got)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("reading allocated %d MB for a 30 MB cell, want a few", n>>20)
	}
}
