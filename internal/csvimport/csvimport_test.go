package csvimport_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/csvimport"
)

// show renders rows compactly: "line phone first last business [tags] {fields}" or "line ERR".
func show(t *testing.T, r *csvimport.Reader) []string {
	t.Helper()
	var out []string
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if row.Err != nil {
			out = append(out, fmt.Sprintf("%d ERR", row.Line))
			continue
		}
		s := fmt.Sprintf("%d %s|%s|%s|%s", row.Line, row.Phone, row.FirstName, row.LastName, row.Business)
		if len(row.Tags) > 0 {
			s += " " + strings.Join(row.Tags, ",")
		}
		for _, k := range slices.Sorted(maps.Keys(row.Fields)) {
			s += " " + k + "=" + row.Fields[k]
		}
		out = append(out, s)
	}
}

func TestAwkwardFiles(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		opt   csvimport.Options
		delim rune
		want  []string
	}{
		{"a UTF-8 BOM and the ExtremeSMS header", "\xEF\xBB\xBFPhone Number,Business\n+15551230001,acme\n", csvimport.Options{}, ',',
			[]string{"2 +15551230001|||acme"}},
		{"semicolons and other names", "Mobile;Firstname;Surname;Company\n+15551230001;Ann;Lee;Acme\n", csvimport.Options{}, ';',
			[]string{"2 +15551230001|Ann|Lee|Acme"}},
		{"tabs", "msisdn\tFirst Name\n15551230001\tBo\n", csvimport.Options{}, '\t',
			[]string{"2 +15551230001|Bo||"}},
		{"a quoted newline: the next record's line is counted from the file", "phone,note\n+15551230001,\"line one\nline two\"\n+15551230002,x\n",
			csvimport.Options{}, ',', []string{"2 +15551230001||| note=line one\nline two", "4 +15551230002||| note=x"}},
		{"quoted delimiters and doubled quotes", "phone,first_name,note\n\"+1 555 123 0001\",\"Lee, Ann\",\"she said \"\"hi\"\"\"\n",
			csvimport.Options{}, ',', []string{`2 +15551230001|Lee, Ann|| note=she said "hi"`}},
		{"duplicate rows are both read (the import counts them)", "phone\n+15551230001\n+15551230001\n", csvimport.Options{}, ',',
			[]string{"2 +15551230001|||", "3 +15551230001|||"}},
		{"bad and missing phones are reported by line", "phone,name\n12,Ann\n,Bo\nnot a number,Cy\n+15551230004,Di\n", csvimport.Options{}, ',',
			[]string{"2 ERR", "3 ERR", "4 ERR", "5 +15551230004||| name=Di"}},
		{"national formats in the default region", "phone\n(555) 123-0001\n555.123.0002\n", csvimport.Options{}, ',',
			[]string{"2 +15551230001|||", "3 +15551230002|||"}},
		{"national formats in another region", "phone\n07700 900123\n", csvimport.Options{Region: "GB"}, ',',
			[]string{"2 +447700900123|||"}},
		{"Windows-1252 accents", "phone,first name,last name\n+15551230001,Ren\xe9,M\xfcller\n", csvimport.Options{}, ',',
			[]string{"2 +15551230001|René|Müller|"}},
		{"blank lines are skipped and lines stay true", "phone\n\n+15551230001\n\n\n+15551230002\n", csvimport.Options{}, ',',
			[]string{"3 +15551230001|||", "6 +15551230002|||"}},
		{"CRLF", "phone,first\r\n+15551230001,Ann\r\n+15551230002,Bo\r\n", csvimport.Options{}, ',',
			[]string{"2 +15551230001|Ann||", "3 +15551230002|Bo||"}},
		{"extra columns are custom fields, missing ones are empty", "phone,first,City,Plan\n+15551230001,Ann,Paris\n+15551230002,Bo,Rome,gold,extra\n",
			csvimport.Options{}, ',', []string{"2 +15551230001|Ann|| City=Paris", "3 +15551230002|Bo|| City=Rome Plan=gold"}},
		{"extra columns can be ignored", "phone,City\n+15551230001,Paris\n", csvimport.Options{IgnoreExtra: true}, ',',
			[]string{"2 +15551230001|||"}},
		{"no header: the phone column is found, the others numbered", "Ann,+15551230001,acme\nBo,+15551230002,acme\n", csvimport.Options{}, ',',
			[]string{"1 +15551230001||| column_1=Ann column_3=acme", "2 +15551230002||| column_1=Bo column_3=acme"}},
		{"a mapping overrides the names", "Cell,Name,Who\n+15551230001,Ann,x\n", csvimport.Options{Mapping: map[string]string{"phone": "Cell", "first_name": "name", "business": "#3"}}, ',',
			[]string{"2 +15551230001|Ann||x"}},
		{"tags split on commas and semicolons", "phone,tags\n+15551230001,\"vip; spring, b2b\"\n", csvimport.Options{}, ',',
			[]string{"2 +15551230001||| vip,spring,b2b"}},
		{"broken quoting spoils one row, not the file", "phone,name\n+15551230001,\"Ann\n", csvimport.Options{}, ',',
			[]string{"2 ERR"}},
		{"lines of empty cells before the header are blank lines", ",,\n,,\nphone,name\n+15551230001,Ann\n", csvimport.Options{}, ',',
			[]string{"4 +15551230001||| name=Ann"}},
		{"a broken first line is reported, and the header after it read", "\"phone,x\"y\nphone\n+15551230001\n", csvimport.Options{}, ',',
			[]string{"1 ERR", "3 +15551230001|||"}},
		{"a cell with a NUL byte spoils its row", "phone,name\n+15551230001,A\x00n\n+15551230002,Bo\n", csvimport.Options{}, ',',
			[]string{"2 ERR", "3 +15551230002||| name=Bo"}},
		{"a single column without header", "+15551230001\n+15551230002\n", csvimport.Options{}, ',',
			[]string{"1 +15551230001|||", "2 +15551230002|||"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := csvimport.Open(strings.NewReader(tt.file), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if r.Delimiter != tt.delim {
				t.Errorf("delimiter %q, want %q", r.Delimiter, tt.delim)
			}
			if got := show(t, r); !slices.Equal(got, tt.want) {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRunawayQuoteRefusesTheFile(t *testing.T) {
	file := "phone,name\n+15551230001,\"Bob\n" + strings.Repeat("+15551230002,x\n", 200)
	r, err := csvimport.Open(strings.NewReader(file), csvimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := r.Next()
		if errors.Is(err, csvimport.ErrRunaway) {
			return
		}
		if err != nil {
			t.Fatalf("Next = %v, want ErrRunaway", err)
		}
	}
}

func TestUnusableFiles(t *testing.T) {
	for name, tt := range map[string]struct {
		file string
		opt  csvimport.Options
		want string
	}{
		"an empty file":            {"", csvimport.Options{}, "empty"},
		"only blank lines":         {"\n\n\r\n", csvimport.Options{}, "empty"},
		"a header without a phone": {"name,city\nAnn,Paris\n", csvimport.Options{}, "no phone column"},
		"a mapping to nothing":     {"phone\n+15551230001\n", csvimport.Options{Mapping: map[string]string{"first_name": "Given"}}, "no such column"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := csvimport.Open(strings.NewReader(tt.file), tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// Files come from anyone: whatever the bytes, reading ends without a panic, lines only grow,
// and every row is either an error or has an E.164 phone.
func FuzzRead(f *testing.F) {
	for _, s := range []string{"phone\n+15551230001\n", "a;b\n\"x\n", "\xEF\xBB\xBF", "Phone Number,Business\r\n1,2\r\n", "\"\"\"", "\xe9\t\xe9\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, file string) {
		r, err := csvimport.Open(strings.NewReader(file), csvimport.Options{})
		if err != nil {
			return
		}
		last := 0
		for range 10_000 {
			row, err := r.Next()
			if err != nil {
				return
			}
			if row.Line < last {
				t.Fatalf("line went back: %d after %d", row.Line, last)
			}
			last = row.Line
			if row.Err == nil && !strings.HasPrefix(row.Phone, "+") {
				t.Fatalf("row without error has phone %q", row.Phone)
			}
		}
	})
}

func TestPreview(t *testing.T) {
	t.Run("a header file shows each column's field and the first rows", func(t *testing.T) {
		in := "Phone Number;First Name;Shoe size\n+15551230001;Ann;38\n\n+15551230002;Bob;44\n+15551230003;Cy;40\n"
		s, err := csvimport.Preview(strings.NewReader(in), csvimport.Options{}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if s.Delimiter != ';' || !slices.Equal(s.Header, []string{"Phone Number", "First Name", "Shoe size"}) {
			t.Errorf("delimiter %q header %q", s.Delimiter, s.Header)
		}
		if !slices.Equal(s.Fields, []string{"phone", "first_name", "Shoe size"}) {
			t.Errorf("fields = %q", s.Fields)
		}
		if len(s.Rows) != 2 || !slices.Equal(s.Rows[1], []string{"+15551230002", "Bob", "44"}) {
			t.Errorf("rows = %q", s.Rows)
		}
	})
	t.Run("a file without a recognisable phone column can still be previewed and mapped", func(t *testing.T) {
		in := "Who,Digits\nAnn,+15551230001\n"
		if _, err := csvimport.Open(strings.NewReader(in), csvimport.Options{}); !errors.Is(err, csvimport.ErrNoPhone) {
			t.Fatalf("Open = %v, want ErrNoPhone", err)
		}
		s, err := csvimport.Preview(strings.NewReader(in), csvimport.Options{}, 5)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Fields, []string{"Who", "Digits"}) || len(s.Rows) != 1 {
			t.Errorf("sample = %+v", s)
		}
	})
	t.Run("a headerless file starts with its first record", func(t *testing.T) {
		s, err := csvimport.Preview(strings.NewReader("+15551230001,Ann\n+15551230002,Bob\n"), csvimport.Options{}, 5)
		if err != nil {
			t.Fatal(err)
		}
		if s.Header != nil || len(s.Rows) != 2 || s.Fields[0] != "phone" {
			t.Errorf("sample = %+v", s)
		}
	})
}
