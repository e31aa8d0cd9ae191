package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/miekg/dns"
)

// RcodeError is a DNS answer whose rcode (or TSIG error) says no. Its text
// is the server's rcode verbatim: "REFUSED", "NXRRSET", "NOTAUTH, TSIG
// BADSIG".
type RcodeError struct {
	Rcode     int
	TSIGError uint16 // 0, or BADSIG/BADKEY/BADTIME from the answer's TSIG
}

func (e *RcodeError) Error() string {
	s := rcodeName(e.Rcode)
	if e.TSIGError != 0 {
		s += ", TSIG " + rcodeName(int(e.TSIGError))
	}
	return s
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// errMalformed marks answers that cannot be trusted as a whole.
var errMalformed = errors.New("malformed answer")

// conn is one TCP connection to the server carrying signed queries and
// their (possibly multi-message) signed answers.
type conn struct {
	c       *dns.Conn
	ctx     context.Context
	key     *tsigKey
	timeout time.Duration
	now     func() time.Time
	stop    func() bool

	id  uint16
	mac string // MAC of the query, then of the last signed answer
	n   int    // answer messages read for the current query
}

func (s *settings) dial(ctx context.Context) (*conn, error) {
	d := net.Dialer{Timeout: s.timeout}
	nc, err := d.DialContext(ctx, "tcp", s.server)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	// A cancelled ctx unblocks a pending read or write.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return &conn{c: &dns.Conn{Conn: nc}, ctx: ctx, key: s.key, timeout: s.timeout, now: s.now, stop: stop}, nil
}

// close ends the connection. It runs once every query on it has its
// answer (or its own error), so closing cannot lose anything: its error
// is dropped here, once, rather than at every caller.
func (c *conn) close() {
	c.stop()
	_ = c.c.Close()
}

// send writes q, signed when a key is configured.
func (c *conn) send(q *dns.Msg) error {
	c.id, c.n, c.mac = q.Id, 0, ""
	var out []byte
	var err error
	if c.key != nil {
		c.key.sign(q, c.now().Unix())
		out, c.mac, err = dns.TsigGenerateWithProvider(q, c.key, "", false)
	} else {
		out, err = q.Pack()
	}
	if err != nil {
		return fmt.Errorf("pack query: %w", err)
	}
	_ = c.c.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := c.c.Write(out); err != nil {
		return c.netErr("send query", err)
	}
	return nil
}

// recv reads the next answer message of the current query and checks id,
// truncation, rcode and signature. The first message of a signed answer
// is verified against the query's MAC, later ones against the previous
// message's MAC with timers only (RFC 8945 5.3.1).
func (c *conn) recv() (*dns.Msg, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(c.timeout))
	p, err := c.c.ReadMsgHeader(nil)
	if err != nil {
		return nil, c.netErr("read answer", err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(p); err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if m.Id != c.id || !m.Response {
		return nil, fmt.Errorf("%w: not an answer to our query", errMalformed)
	}
	if m.Truncated {
		return nil, fmt.Errorf("%w: truncated", errMalformed)
	}
	t := m.IsTsig()
	if m.Rcode != dns.RcodeSuccess || (t != nil && t.Error != 0) {
		re := &RcodeError{Rcode: m.Rcode}
		if t != nil {
			re.TSIGError = t.Error
		}
		return m, re
	}
	if c.key != nil {
		if t == nil {
			return nil, fmt.Errorf("answer is not signed")
		}
		if err := dns.TsigVerifyWithProvider(p, c.key, c.mac, c.n > 0); err != nil {
			return nil, fmt.Errorf("TSIG verification of the answer: %w", err)
		}
		c.mac = t.MAC
	}
	c.n++
	return m, nil
}

// exchange sends q and reads a one-message answer.
func (c *conn) exchange(q *dns.Msg) (*dns.Msg, error) {
	if err := c.send(q); err != nil {
		return nil, err
	}
	return c.recv()
}

func (c *conn) netErr(what string, err error) error {
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", what, ctxErr)
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return fmt.Errorf("%s: timeout after %v: %w", what, c.timeout, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: connection closed by the server: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
