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
// when limit > 0, which reads the file chunk bytes at a time.
func readAll(t *testing.T, file string, limit, chunk int) []record {
	t.Helper()
	var src io.Reader = strings.NewReader(file)
	var c *clipper
	if limit > 0 {
		c = newClipper(src, ',')
		c.limit, c.in = limit, make([]byte, chunk)
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
			want := readAll(t, tt.file, 0, 0)
			for _, chunk := range []int{1, 3, 7, 32 << 10} {
				compare(t, want, readAll(t, tt.file, limit, chunk), limit)
			}
		})
	}
}

// compare checks what csv read through a clipper (got) against what it read alone (want).
func compare(t *testing.T, want, got []record, limit int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("limit %d: records %+v, want %+v", limit, got, want)
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.line != w.line || g.err != w.err || len(g.cells) != len(w.cells) {
			t.Fatalf("limit %d: record %d = %+v, want %+v", limit, i, g, w)
		}
		for j := range w.cells {
			if g.cells[j] != w.cells[j] && (len(w.cells[j]) <= cut(limit) || len(g.cells[j]) <= cut(limit)) {
				t.Fatalf("limit %d: record %d cell %d = %q, want %q or a cut of it still longer than %d",
					limit, i, j, g.cells[j], w.cells[j], cut(limit))
			}
		}
	}
}

// Whatever the file and however it arrives, the clipper reads the records encoding/csv reads,
// on the same lines, with the same cells except cut ones, which stay too long. (A file csv finds
// broken may differ only where a cut removed what broke it: see the table test.)
func FuzzClipper(f *testing.F) {
	for _, s := range []string{"a,b\n", "a,\"b\nc\",d\n", "\"\"\"\"\"\"\"\"\"\"\"\"\"\",x\n", "0123456789abcdef\r\n\r\n1,2\n", "\"abc", "a\"b,c\n"} {
		f.Add(s, 8, 3)
	}
	f.Fuzz(func(t *testing.T, file string, limit, chunk int) {
		limit, chunk = 4+(limit&0xff)%60, 1+(chunk&0xff)%40
		want := readAll(t, file, 0, 0)
		for _, r := range want {
			if r.err {
				return
			}
		}
		compare(t, want, readAll(t, file, limit, chunk), limit)
	})
}
