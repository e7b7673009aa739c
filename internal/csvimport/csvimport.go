// Package csvimport reads contact lists as people export them from spreadsheets and CRMs: any of
// comma, semicolon or tab, UTF-8 with or without BOM or Windows-1252, quoted fields with
// delimiters, doubled quotes and newlines, CRLF, blank lines, a header with columns named any of
// the usual ways (or no header at all). It streams: memory does not grow with the file, and a
// cell longer than MaxCell (64 KiB) makes its row invalid and is cut as it streams in (clipper),
// never held whole. Each row comes with the line of the file where it starts, so reports can
// point at it.
package csvimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/ibiki/ibiki/internal/sms"
	"github.com/ibiki/ibiki/internal/text"
)

// The fields a column can fill.
const (
	Phone     = "phone"
	FirstName = "first_name"
	LastName  = "last_name"
	Business  = "business"
	Tags      = "tags"
)

// aliases are the header names recognised for each field, compared by Key.
var aliases = map[string]string{}

func init() {
	for field, names := range map[string][]string{
		Phone: {"phone", "phone number", "phonenumber", "phone no", "mobile", "mobile number", "mobile phone", "cell",
			"cell phone", "cellphone", "msisdn", "number", "tel", "telephone", "contact number", "whatsapp"},
		FirstName: {"first name", "firstname", "first", "given name", "fname", "forename"},
		LastName:  {"last name", "lastname", "last", "surname", "family name", "lname"},
		Business:  {"business", "business name", "company", "company name", "organisation", "organization", "org"},
		Tags:      {"tags", "tag", "groups", "group", "labels"},
	} {
		for _, n := range names {
			aliases[Key(n)] = field
		}
	}
}

// Key normalises a column name: case, spaces, "_", "-" and "." do not matter.
func Key(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if r != ' ' && r != '_' && r != '-' && r != '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Options tune a Reader.
type Options struct {
	// Mapping names, for a field (phone, first_name, last_name, business, tags, or a custom
	// field), the header of the column that fills it, or "#3" for the third column. It
	// overrides the recognised names.
	Mapping map[string]string
	// IgnoreExtra drops the columns that fill no field; by default they become custom fields
	// named after their header.
	IgnoreExtra bool
	// OnlyMapped uses the mapping alone: no column is recognised by its header, and the
	// columns the mapping leaves out are dropped (a person chose each column's field).
	OnlyMapped bool
	// Region reads phone numbers written without a country code.
	Region string
}

// Row is one contact read from the file. Err is set when the row cannot be imported (a bad or
// missing phone, broken quoting); the other fields are then incomplete.
type Row struct {
	Line      int
	Phone     string
	FirstName string
	LastName  string
	Business  string
	Tags      []string
	Fields    map[string]string
	Err       error
}

// Reader reads rows.
type Reader struct {
	csv       *csv.Reader
	clip      *clipper
	opt       Options
	Delimiter rune
	// Header is the first line's cells, or nil when the file has none.
	Header  []string
	columns map[int]string // column index → field
	first   []string       // the first data record, when the file has no header
	firstAt int
	// firstLong are the first record's cells longer than MaxCell.
	firstLong []int
	phone     int
	broken    []Row // lines broken before the header, reported first
}

func allEmpty(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}

// Errors of Open.
var (
	ErrEmpty   = errors.New("the file is empty")
	ErrNoPhone = errors.New("no phone column: name one \"phone\" (or mobile, msisdn...) or map it")
)

// maxCells bounds a row: more is not a contact list.
const maxCells = 1000

// maxRecordLines bounds the lines one quoted record may span before it counts as runaway.
const maxRecordLines = 100

// Open sniffs the file (BOM, delimiter, header) and returns a Reader positioned at the first row.
func Open(in io.Reader, opt Options) (*Reader, error) {
	return open(in, opt, false)
}

func open(in io.Reader, opt Options, anyColumns bool) (*Reader, error) {
	br := bufio.NewReaderSize(in, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	sample, _ := br.Peek(64 << 10)
	r := &Reader{opt: opt, Delimiter: sniffDelimiter(sample), columns: map[int]string{}, phone: -1}
	r.clip = newClipper(br, r.Delimiter)
	r.csv = csv.NewReader(r.clip)
	r.csv.Comma = r.Delimiter
	r.csv.FieldsPerRecord = -1
	r.csv.ReuseRecord = false
	var (
		first []string
		line  int
	)
	for {
		rec, err := r.csv.Read()
		if errors.Is(err, io.EOF) {
			return nil, ErrEmpty
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// A broken first line: reported with the rows (it is not a header), then the next.
			r.broken = append(r.broken, Row{Line: r.clip.sourceLine(pe.StartLine, true), Err: fmt.Errorf("broken quoting: %v", pe.Err)})
			continue
		}
		if err != nil {
			return nil, err
		}
		long := longCells(rec)
		for i := range rec {
			rec[i] = cellText(rec[i])
		}
		if allEmpty(rec) {
			continue // ",,," lines (spreadsheet exports) are blank lines
		}
		first, r.firstLong = rec, long
		line = r.recordLine()
		break
	}
	var header []string
	if r.isHeader(first) {
		r.Header, header = first, first
	} else {
		r.first, r.firstAt = first, line
	}
	if err := r.mapColumns(header); err != nil && !(anyColumns && errors.Is(err, ErrNoPhone)) {
		return nil, err
	}
	return r, nil
}

// Sample is the start of a file as a column-mapping screen shows it.
type Sample struct {
	Delimiter rune
	// Header is the header line's cells (nil when the file has none).
	Header []string
	// Fields gives, per column, the field it fills unless the mapping says otherwise
	// (phone, first_name…, a custom field's name, or "" for none).
	Fields []string
	// Rows are the first records' cells, as read.
	Rows [][]string
}

// sampleCellLen is as much of a cell as a preview shows.
const sampleCellLen = 100

func clipCell(c string) string {
	if len(c) <= sampleCellLen {
		return c
	}
	cut := sampleCellLen
	for cut > 0 && !utf8.RuneStart(c[cut]) {
		cut--
	}
	return c[:cut] + "…"
}

// Preview reads the header and the first n records of a file. Unlike Open it does not insist
// on a phone column: the person mapping the columns may be about to choose it.
func Preview(in io.Reader, opt Options, n int) (Sample, error) {
	r, err := open(in, opt, true)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Delimiter: r.Delimiter, Header: r.Header}
	if r.first != nil {
		s.Rows = append(s.Rows, r.first)
	}
	for len(s.Rows) < n {
		rec, err := r.csv.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue // a broken line: the import reports it with its line number
		}
		for i := range rec {
			rec[i] = cellText(rec[i])
		}
		if !allEmpty(rec) {
			s.Rows = append(s.Rows, rec)
		}
	}
	cols := len(s.Header)
	for _, row := range s.Rows {
		cols = max(cols, len(row))
	}
	if cols > maxCells {
		return Sample{}, fmt.Errorf("%d columns: more than %d", cols, maxCells)
	}
	for _, row := range s.Rows {
		for i, c := range row {
			row[i] = clipCell(c)
		}
	}
	for i, h := range s.Header {
		s.Header[i] = clipCell(h)
	}
	s.Fields = make([]string, cols)
	for i := range s.Fields {
		s.Fields[i] = r.columns[i]
	}
	return s, nil
}

// sniffDelimiter picks comma, semicolon or tab: the one that splits the first lines into the
// same number of cells (more than one), the most often; comma when none does.
func sniffDelimiter(sample []byte) rune {
	lines := bytes.Split(sample, []byte("\n"))
	if len(lines) > 1 {
		lines = lines[:len(lines)-1] // the last one may be cut
	}
	if len(lines) > 20 {
		lines = lines[:20]
	}
	best, bestScore := ',', 0
	for _, d := range []rune{',', ';', '\t'} {
		counts := map[int]int{}
		for _, l := range lines {
			if len(bytes.TrimSpace(l)) == 0 {
				continue
			}
			counts[countOutsideQuotes(l, byte(d))]++
		}
		for n, times := range counts {
			if n > 0 && times*100+n > bestScore {
				best, bestScore = d, times*100+n
			}
		}
	}
	return best
}

func countOutsideQuotes(line []byte, d byte) int {
	n, quoted := 0, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case c == d && !quoted:
			n++
		}
	}
	return n
}

// cellText turns a cell into valid UTF-8: a cell that is not UTF-8 is read as Windows-1252, the
// encoding of spreadsheets saved on Windows. Spaces around it are trimmed.
func cellText(s string) string {
	if !utf8.ValidString(s) {
		if b, err := charmap.Windows1252.NewDecoder().String(s); err == nil {
			s = b
		}
	}
	return strings.TrimSpace(s)
}

// isHeader decides whether the first line names the columns: it does when a cell is a known
// column name or mapped, or when no cell is a phone number.
func (r *Reader) isHeader(cells []string) bool {
	for _, c := range cells {
		if _, ok := aliases[Key(c)]; ok {
			return true
		}
		for _, src := range r.opt.Mapping {
			if Key(src) == Key(c) {
				return true
			}
		}
	}
	for _, c := range cells {
		if _, err := sms.NormalizeE164(c, r.region()); err == nil {
			return false
		}
	}
	return true
}

func (r *Reader) region() string {
	if r.opt.Region == "" {
		return "US"
	}
	return r.opt.Region
}

// mapColumns assigns each column its field: the explicit mapping, then the recognised names,
// then (extras kept) the header's own name. Without a header the phone is the first column
// holding a phone number and the others are column_N.
func (r *Reader) mapColumns(header []string) error {
	taken := map[string]bool{}
	for field, src := range r.opt.Mapping {
		field = normalizeField(field)
		i := -1
		if strings.HasPrefix(src, "#") {
			if n, err := strconv.Atoi(src[1:]); err == nil && n >= 1 {
				i = n - 1
			}
		} else {
			for j, h := range header {
				if Key(h) == Key(src) {
					i = j
					break
				}
			}
		}
		if i < 0 {
			return fmt.Errorf("mapping: %s → %q: no such column", field, src)
		}
		r.columns[i], taken[field] = field, true
	}
	for i, h := range header {
		if _, mapped := r.columns[i]; mapped || r.opt.OnlyMapped {
			continue
		}
		if f, ok := aliases[Key(h)]; ok && !taken[f] {
			r.columns[i], taken[f] = f, true
		} else if !r.opt.IgnoreExtra && h != "" {
			r.columns[i] = h
		}
	}
	if header == nil && !taken[Phone] {
		for i, c := range r.first {
			if _, err := sms.NormalizeE164(cellText(c), r.region()); err == nil {
				r.columns[i], taken[Phone] = Phone, true
				break
			}
		}
		for i := range r.first {
			if _, ok := r.columns[i]; !ok && !r.opt.IgnoreExtra {
				r.columns[i] = "column_" + strconv.Itoa(i+1)
			}
		}
	}
	for i, f := range r.columns {
		if f == Phone {
			r.phone = i
		}
	}
	if r.phone < 0 {
		return ErrNoPhone
	}
	return nil
}

// IsStandardField reports whether name, in any spelling, is one of the fields Ibiki knows
// (phone, first_name, last_name, business, tags) rather than a custom field.
func IsStandardField(name string) bool {
	switch normalizeField(name) {
	case Phone, FirstName, LastName, Business, Tags:
		return true
	}
	return false
}

// normalizeField reads a mapping's field name: one of the known fields in any spelling, or a
// custom field kept as written.
func normalizeField(f string) string {
	switch Key(f) {
	case "phone":
		return Phone
	case "firstname":
		return FirstName
	case "lastname":
		return LastName
	case "business":
		return Business
	case "tags":
		return Tags
	}
	return strings.TrimSpace(f)
}

// ErrRunaway is a quoted field opened and never closed: the rest of the file went into it, so
// rows would be missing without a trace. The whole file is refused.
var ErrRunaway = errors.New("a quoted field is never closed")

// Next returns the next row; io.EOF after the last. Blank lines (and lines of empty cells) are
// skipped.
func (r *Reader) Next() (Row, error) {
	var (
		rec  []string
		line int
	)
	if len(r.broken) > 0 {
		row := r.broken[0]
		r.broken = r.broken[1:]
		return row, nil
	}
	var long []int
	if r.first != nil {
		rec, line, long, r.first = r.first, r.firstAt, r.firstLong, nil
	} else {
		var err error
		rec, err = r.csv.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				start, end := r.clip.sourceLine(pe.StartLine, true), r.clip.sourceLine(pe.Line, false)
				if errors.Is(pe.Err, csv.ErrQuote) && end-start > maxRecordLines {
					return Row{}, fmt.Errorf("%w: line %d opens one that runs to line %d", ErrRunaway, start, end)
				}
				return Row{Line: start, Err: fmt.Errorf("broken quoting: %v", pe.Err)}, nil
			}
			return Row{}, err
		}
		line, long = r.recordLine(), longCells(rec)
		for i := range rec {
			rec[i] = cellText(rec[i])
		}
		if allEmpty(rec) {
			return r.Next()
		}
	}
	for _, v := range rec {
		if !text.Valid(v) { // cellText made every cell UTF-8: what is left to refuse is a NUL
			return Row{Line: line, Err: errors.New("a cell holds a NUL byte: not text")}, nil
		}
	}
	if len(rec) > maxCells {
		return Row{Line: line, Err: fmt.Errorf("%d cells: more than %d", len(rec), maxCells)}, nil
	}
	for _, i := range long {
		if f, ok := r.columns[i]; ok {
			return Row{Line: line, Err: fmt.Errorf("%s is too long: a cell holds at most %d bytes", f, MaxCell)}, nil
		}
	}
	row := Row{Line: line}
	for i, v := range rec {
		f, ok := r.columns[i]
		if !ok || v == "" {
			continue
		}
		switch f {
		case Phone:
			row.Phone = v
		case FirstName:
			row.FirstName = v
		case LastName:
			row.LastName = v
		case Business:
			row.Business = v
		case Tags:
			row.Tags = splitTags(v)
		default:
			if row.Fields == nil {
				row.Fields = map[string]string{}
			}
			row.Fields[f] = v
		}
	}
	switch {
	case row.Phone == "":
		row.Err = errors.New("phone is empty")
	default:
		p, err := sms.NormalizeE164(row.Phone, r.region())
		if err != nil {
			row.Err = err
		}
		row.Phone = p
	}
	return row, nil
}

// recordLine is the file's line where the record csv just read starts.
func (r *Reader) recordLine() int {
	line, _ := r.csv.FieldPos(0)
	return r.clip.sourceLine(line, true)
}

// longCells lists the cells of a record, as csv read them, longer than MaxCell (nil when none,
// as almost always).
func longCells(rec []string) []int {
	var long []int
	for i, c := range rec {
		if len(c) > MaxCell {
			long = append(long, i)
		}
	}
	return long
}

func splitTags(v string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
