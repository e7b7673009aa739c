package csvimport

import (
	"bytes"
	"io"
	"sort"
)

// MaxCell bounds one cell of a file, in bytes as read. Longer is no contact's field (the
// longest a contact holds, a cell of 50 tags, stays far below), and encoding/csv holds a cell
// whole, several times over: a 30 MB cell grew the server by hundreds of MB. A longer cell is
// cut as it streams in (see clipper), and its row is invalid.
const MaxCell = 64 << 10

// clipAt is how many bytes of a cell the clipper passes on: the cut cell still decodes to more
// than MaxCell bytes (csv makes one byte of the two of an escaped quote "", and of a CRLF inside
// quotes), so Reader can tell it was too long.
const clipAt = 2*MaxCell + 2

// clipper sits between the file and encoding/csv and passes the file through unchanged, except
// for the part of a cell beyond clipAt bytes, which it drops as it streams by: csv never holds
// more than that of one cell, whatever the file. It follows csv's quoting (RFC 4180, as
// encoding/csv reads it without LazyQuotes) to know where a cell ends; where a broken file
// makes the two disagree, csv reports that row broken anyway. Line numbers stay true: the
// newlines dropped inside a cut quoted cell are counted (sourceLine).
type clipper struct {
	src   io.Reader
	delim byte
	limit int    // clipAt, or less in tests
	in    []byte // read from src
	out   []byte // to pass on; out[pos:] not yet read
	pos   int
	state clipState
	n     int // bytes of the current cell passed on or dropped
	line  int // the line being passed on, from 1
	// drops are the newlines dropped, by the line being passed on at the time: a record that
	// csv says starts on line l starts on l plus the newlines dropped before it.
	drops []lineDrop
	err   error // of src, once it has none left
}

type clipState int

const (
	cellStart clipState = iota // before a cell's first byte
	bare                       // in a cell without quotes
	quoted                     // in a quoted cell
	quoteSeen                  // in a quoted cell, after a quote that may close it or be doubled
)

type lineDrop struct {
	at    int // the line being passed on
	total int // newlines dropped up to and including this entry
}

func newClipper(src io.Reader, delim rune) *clipper {
	return &clipper{src: src, delim: byte(delim), limit: clipAt, in: make([]byte, 32<<10), line: 1}
}

// Read passes on the next part of the file.
func (c *clipper) Read(p []byte) (int, error) {
	for c.pos == len(c.out) {
		if c.err != nil {
			return 0, c.err
		}
		c.out, c.pos = c.out[:0], 0
		n, err := c.src.Read(c.in)
		c.feed(c.in[:n])
		if err != nil {
			if c.state == quoteSeen { // the file ends on a closing quote
				c.emit('"')
				c.state = cellStart
			}
			c.err = err
		}
	}
	n := copy(p, c.out[c.pos:])
	c.pos += n
	return n, nil
}

// feed takes a part of the file: runs of a cell's text go through at once, the bytes that
// end them one at a time (step).
func (c *clipper) feed(in []byte) {
	if c.plain(in) {
		return
	}
	for len(in) > 0 {
		var i int
		switch c.state {
		case bare:
			i = c.bareEnd(in)
		case quoted:
			i = bytes.IndexByte(in, '"')
		default:
			c.step(in[0])
			in = in[1:]
			continue
		}
		if i < 0 {
			i = len(in)
		}
		c.run(in[:i])
		if i < len(in) {
			c.step(in[i])
			i++
		}
		in = in[i:]
	}
}

// plain passes on at once a part of the file outside quotes that holds no quote and cannot
// take a cell past the limit (the file of most lists): it reports whether it did.
func (c *clipper) plain(in []byte) bool {
	if (c.state != bare && c.state != cellStart) || c.n+len(in) > c.limit || bytes.IndexByte(in, '"') >= 0 {
		return false
	}
	c.out = append(c.out, in...)
	c.line += bytes.Count(in, newline)
	last := max(bytes.LastIndexByte(in, '\n'), bytes.LastIndexByte(in, c.delim))
	switch {
	case last >= 0:
		c.n = len(in) - last - 1 // the cell the part ends in
	case c.state == cellStart:
		c.n = len(in)
	default:
		c.n += len(in)
	}
	c.state = bare
	if c.n == 0 {
		c.state = cellStart
	}
	return true
}

// bareEnd is the index of the byte that ends a cell without quotes (a delimiter or a newline),
// or -1.
func (c *clipper) bareEnd(in []byte) int {
	for i, b := range in {
		if b == c.delim || b == '\n' {
			return i
		}
	}
	return -1
}

// run passes on a run of a cell's text (no quote in it), or drops what lies past the limit.
func (c *clipper) run(text []byte) {
	keep := min(len(text), max(c.limit-c.n, 0))
	c.n += len(text)
	c.out = append(c.out, text[:keep]...)
	c.line += bytes.Count(text[:keep], newline)
	for range bytes.Count(text[keep:], newline) {
		c.dropNewline()
	}
}

var newline = []byte{'\n'}

// step takes one byte of the file.
func (c *clipper) step(b byte) {
	switch c.state {
	case cellStart:
		c.n = 0
		switch b {
		case '"':
			c.state = quoted
			c.emit(b)
		case c.delim, '\n':
			c.emit(b)
		default:
			c.state = bare
			c.content(b)
		}
	case bare:
		if b == c.delim || b == '\n' {
			c.state = cellStart
			c.emit(b)
			return
		}
		c.content(b)
	case quoted:
		if b == '"' {
			c.state = quoteSeen
			return
		}
		c.content(b)
	case quoteSeen:
		if b == '"' { // a doubled quote: one quote of the cell's text
			c.state = quoted
			c.content('"', '"')
			return
		}
		c.emit('"') // the quote closed the cell
		c.state = bare
		if b == c.delim || b == '\n' {
			c.state = cellStart
			c.emit(b)
			return
		}
		c.content(b) // text after the closing quote: csv reports the row broken
	}
}

// content passes on bytes of a cell's text, or drops them past clipAt (an escaped quote's two
// bytes go or are dropped together).
func (c *clipper) content(bs ...byte) {
	c.n += len(bs)
	if c.n <= c.limit {
		for _, b := range bs {
			c.emit(b)
		}
		return
	}
	for _, b := range bs {
		if b == '\n' {
			c.dropNewline()
		}
	}
}

func (c *clipper) emit(b byte) {
	c.out = append(c.out, b)
	if b == '\n' {
		c.line++
	}
}

func (c *clipper) dropNewline() {
	total := 1
	if k := len(c.drops); k > 0 {
		total += c.drops[k-1].total
		if c.drops[k-1].at == c.line {
			c.drops[k-1].total = total
			return
		}
	}
	c.drops = append(c.drops, lineDrop{at: c.line, total: total})
}

// sourceLine turns a line of what csv read into the file's line. A record's first line (start)
// counts the newlines dropped before that line; the line where csv found an error (not start)
// counts those dropped on it too.
func (c *clipper) sourceLine(line int, start bool) int {
	i := sort.Search(len(c.drops), func(i int) bool {
		if start {
			return c.drops[i].at >= line
		}
		return c.drops[i].at > line
	})
	if i == 0 {
		return line
	}
	return line + c.drops[i-1].total
}
