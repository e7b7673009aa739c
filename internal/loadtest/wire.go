package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The inbound bench shares two cores with the server it measures, so its own HTTP costs what a
// lean load generator (wrk, say) costs: one keep-alive HTTP/1.1 connection per worker with a
// request written in one piece, and a receiver that reads a request and answers 200 without
// net/http's per-request goroutines, header maps and buffers. Both speak plain HTTP/1.1 with
// Content-Length or chunked bodies, which is all that passes between the bench and Ibiki.

// maxWireBody bounds a body either side reads; Ibiki's answers and events are far smaller.
const maxWireBody = 8 << 20

var errWire = errors.New("loadtest: malformed HTTP message")

// wireClient is one keep-alive HTTP/1.1 connection to a server, redialled after any error.
type wireClient struct {
	addr, host string
	timeout    time.Duration
	conn       net.Conn
	br         *bufio.Reader
	req, body  []byte
}

// newWireClient connects to hostport, "host:port" or a bare host (port 80).
func newWireClient(hostport string, timeout time.Duration) *wireClient {
	addr := hostport
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		addr = net.JoinHostPort(strings.Trim(hostport, "[]"), "80")
	}
	return &wireClient{addr: addr, host: hostport, timeout: timeout}
}

// post sends one POST and returns the answer's status and body (valid until the next call).
// A failed exchange closes the connection: the next call dials a new one. A kept-alive
// connection the server closed while it was idle fails before any byte of an answer; the
// request is then sent again once on a new connection, as net/http does.
func (c *wireClient) post(path, contentType string, body []byte) (int, []byte, error) {
	return c.postSigned(path, contentType, "", body)
}

// postSigned is post with an X-Twilio-Signature header, unless sig is "".
func (c *wireClient) postSigned(path, contentType, sig string, body []byte) (int, []byte, error) {
	reused := c.conn != nil
	status, resp, answered, err := c.exchange(path, contentType, sig, body)
	if err != nil && c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	if err != nil && reused && !answered {
		status, resp, _, err = c.exchange(path, contentType, sig, body)
		if err != nil && c.conn != nil {
			c.conn.Close()
			c.conn = nil
		}
	}
	return status, resp, err
}

// exchange writes the request and reads the answer; answered tells whether any of it came.
func (c *wireClient) exchange(path, contentType, sig string, body []byte) (status int, resp []byte, answered bool, err error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return 0, nil, answered, err
		}
		c.conn = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 16<<10)
		} else {
			c.br.Reset(conn)
		}
	}
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, nil, answered, err
	}
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.host...)
	c.req = append(c.req, "\r\nContent-Type: "...)
	c.req = append(c.req, contentType...)
	if sig != "" {
		c.req = append(c.req, "\r\nX-Twilio-Signature: "...)
		c.req = append(c.req, sig...)
	}
	c.req = append(c.req, "\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, nil, answered, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return 0, nil, answered, err
	}
	answered = true
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, answered, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, answered, fmt.Errorf("%w: status line %q", errWire, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, answered, fmt.Errorf("%w: status line %q", errWire, line)
	}
	h, err := readWireHeader(c.br)
	if err != nil {
		return 0, nil, answered, err
	}
	switch {
	case status == 204 || status == 304:
		c.body = c.body[:0]
	case h.chunked:
		c.body, err = readChunked(c.br, c.body[:0])
	case h.length >= 0:
		c.body, err = readN(c.br, c.body[:0], h.length)
	default:
		// No length: the body runs to the end of the connection.
		h.close = true
		c.body, err = readAll(c.br, c.body[:0])
	}
	if err != nil {
		return 0, nil, answered, err
	}
	if h.close {
		c.conn.Close()
		c.conn = nil
	}
	return status, c.body, true, nil
}

// close ends the connection.
func (c *wireClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// wireHeader is what either side needs of a header block.
type wireHeader struct {
	length      int64 // Content-Length, -1 if absent
	chunked     bool
	close       bool // Connection: close
	continue100 bool
}

// readWireHeader reads header lines up to the empty line.
func readWireHeader(br *bufio.Reader) (wireHeader, error) {
	h := wireHeader{length: -1}
	for n := 0; ; n++ {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return h, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return h, nil
		}
		if n > 100 {
			return h, fmt.Errorf("%w: too many header lines", errWire)
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return h, fmt.Errorf("%w: header line %q", errWire, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			v, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || v < 0 || v > maxWireBody {
				return h, fmt.Errorf("%w: Content-Length %q", errWire, value)
			}
			h.length = v
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = bytes.EqualFold(value, []byte("chunked"))
			if !h.chunked {
				return h, fmt.Errorf("%w: Transfer-Encoding %q", errWire, value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			h.close = h.close || bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Expect")):
			h.continue100 = bytes.EqualFold(value, []byte("100-continue"))
		}
	}
}

func readN(br *bufio.Reader, dst []byte, n int64) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	_, err := io.ReadFull(br, dst[start:])
	return dst, err
}

func readAll(br *bufio.Reader, dst []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Write(dst)
	_, err := b.ReadFrom(io.LimitReader(br, maxWireBody))
	return b.Bytes(), err
}

// readChunked decodes a chunked body (trailers are read and dropped).
func readChunked(br *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return dst, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 || int64(len(dst))+n > maxWireBody {
			return dst, fmt.Errorf("%w: chunk size %q", errWire, line)
		}
		if n == 0 {
			_, err := readWireHeader(br) // trailers, up to the empty line
			return dst, err
		}
		if dst, err = readN(br, dst, n); err != nil {
			return dst, err
		}
		if line, err = br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(line, "\r\n")) != 0 {
			return dst, fmt.Errorf("%w: no line end after a chunk", errWire)
		}
	}
}

// wireServer answers every POST with the status its handler returns and an empty body.
type wireServer struct {
	ln      net.Listener
	handle  func(body []byte) int
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	stopped bool
	wg      sync.WaitGroup
}

// serveWire listens on addr and serves until stop is called.
func serveWire(addr string, handle func(body []byte) int) (*wireServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &wireServer{ln: ln, handle: handle, conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.accept)
	return s, nil
}

func (s *wireServer) addr() string { return s.ln.Addr().String() }

func (s *wireServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			s.serve(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			conn.Close()
		})
	}
}

var ok200 = []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")

// statusLine is the status line and empty-body header of an answer.
func statusLine(code int) []byte {
	if code == http.StatusOK {
		return ok200
	}
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n", code, http.StatusText(code))
}

// serve reads requests from one connection until it closes or a request is malformed.
func (s *wireServer) serve(conn net.Conn) {
	br := bufio.NewReaderSize(conn, 16<<10)
	bw := bufio.NewWriterSize(conn, 4<<10)
	var body []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if !bytes.HasSuffix(bytes.TrimRight(line, "\r\n"), []byte(" HTTP/1.1")) &&
			!bytes.HasSuffix(bytes.TrimRight(line, "\r\n"), []byte(" HTTP/1.0")) {
			return
		}
		http10 := bytes.HasSuffix(bytes.TrimRight(line, "\r\n"), []byte(" HTTP/1.0"))
		h, err := readWireHeader(br)
		if err != nil {
			return
		}
		if h.continue100 {
			bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if bw.Flush() != nil {
				return
			}
		}
		switch {
		case h.chunked:
			body, err = readChunked(br, body[:0])
		case h.length > 0:
			body, err = readN(br, body[:0], h.length)
		default:
			body = body[:0]
		}
		if err != nil {
			return
		}
		bw.Write(statusLine(s.handle(body)))
		closing := h.close || http10
		if closing {
			bw.WriteString("Connection: close\r\n")
		}
		bw.WriteString("\r\n")
		if bw.Flush() != nil || closing {
			return
		}
	}
}

// stop closes the listener and every connection and waits for their goroutines.
func (s *wireServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	s.stopped = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
