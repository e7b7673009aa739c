package csvimport

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
)

// record is one record as csv read it: its file line and cells, or its error.
type record struct {
	line  int
	cells []string
	err   bool
}

// readAll reads a file with encoding/csv as Reader does, through a clipper of the given limit
// when limit > 0.
func readAll(t *testing.T, file string, limit int) []record {
	t.Helper()
	var src io.Reader = strings.NewReader(file)
	var c *clipper
	if limit > 0 {
		c = newClipper(src, ',')
		c.limit = limit
		src = c
	}
	r := csv.NewReader(src)
	r.FieldsPerRecord = -1
	lineOf := func(l int, start bool) int {
		if c == nil {
			return l
		}
		return c.sourceLine(l, start)
	}
	var out []record
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			out = append(out, record{line: lineOf(pe.StartLine, true), err: true})
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		line, _ := r.FieldPos(0)
		out = append(out, record{line: lineOf(line, true), cells: rec})
	}
}

// cut is how long a cell that the clipper cut still reads: more than this.
func cut(limit int) int { return (limit - 2) / 2 }

func TestClipperCutsLongCellsAndKeepsLines(t *testing.T) {
	const limit = 12 // cells longer than 5 bytes may be cut
	tests := []struct {
		name string
		file string
	}{
		{"short cells pass unchanged", "a,b\nc,\"d,e\"\n"},
		{"a long bare cell is cut, its neighbours are not", "a,0123456789abcdefghij,b\nc,d\n"},
		{"a long quoted cell is cut", "a,\"0123456789abcdefghij\",b\nc,d\n"},
		{"newlines dropped inside a cut cell keep later lines true", "a,\"0123456789ab\n\n\n\ncdef\",b\nc,d\n\ne,f\n"},
		{"doubled quotes are cut as pairs", "a,\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\",b\nc,d\n"},
		{"CRLF lines and a cut cell", "a,0123456789abcdefghij\r\nc,\"0123456789\r\nabcdefghij\"\r\ne,f\r\n"},
		{"a cell cut at the end of the file", "a,\"0123456789abcdefghij\""},
		{"a broken record is broken both ways", "a,b\"c\nd,e\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, got := readAll(t, tt.file, 0), readAll(t, tt.file, limit)
			if len(got) != len(want) {
				t.Fatalf("records %+v, want %+v", got, want)
			}
			for i := range want {
				w, g := want[i], got[i]
				if g.line != w.line || g.err != w.err || len(g.cells) != len(w.cells) {
					t.Fatalf("record %d = %+v, want %+v", i, g, w)
				}
				for j := range w.cells {
					if g.cells[j] != w.cells[j] && (len(w.cells[j]) <= cut(limit) || len(g.cells[j]) <= cut(limit)) {
						t.Errorf("record %d cell %d = %q, want %q or a cut of it still longer than %d", i, j, g.cells[j], w.cells[j], cut(limit))
					}
				}
			}
		})
	}
}

// Whatever the file, the clipper reads the records encoding/csv reads, on the same lines, with
// the same cells except cut ones, which stay too long; a file csv finds broken may differ only
// where a cut removed what broke it.
func FuzzClipper(f *testing.F) {
	for _, s := range []string{"a,b\n", "a,\"b\nc\",d\n", "\"\"\"\"\"\"\"\"\"\"\"\"\"\",x\n", "0123456789abcdef\r\n\r\n1,2\n", "\"abc", "a\"b,c\n"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, file string, limit int) {
		limit = 4 + (limit&0xff)%60
		want, got := readAll(t, file, 0), readAll(t, file, limit)
		for _, r := range want {
			if r.err {
				return // broken files: compared in the table test above
			}
		}
		if len(got) != len(want) {
			t.Fatalf("limit %d: %d records, want %d", limit, len(got), len(want))
		}
		for i := range want {
			w, g := want[i], got[i]
			if g.err || g.line != w.line || len(g.cells) != len(w.cells) {
				t.Fatalf("limit %d: record %d = %+v, want %+v", limit, i, g, w)
			}
			for j := range w.cells {
				if g.cells[j] != w.cells[j] && (len(w.cells[j]) <= cut(limit) || len(g.cells[j]) <= cut(limit)) {
					t.Fatalf("limit %d: record %d cell %d = %q, want %q", limit, i, j, g.cells[j], w.cells[j])
				}
			}
		}
	})
}
