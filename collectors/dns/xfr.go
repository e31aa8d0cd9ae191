package dns

import (
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

// xfrResult is what one AXFR or IXFR answer said.
type xfrResult struct {
	soa      *dns.SOA // the zone's current SOA
	upToDate bool     // IXFR: the server has nothing newer than we asked from
	full     bool     // the answer is the whole zone (AXFR, or IXFR sent AXFR-style)
	rrs      []dns.RR // full: every RR between the opening and closing SOA
	diffs    []ixfrDiff
}

// ixfrDiff is one step of an incremental transfer.
type ixfrDiff struct {
	from, to uint32
	del, add []dns.RR
}

// errNoClosingSOA is a transfer cut off before its end: what was read is
// part of the zone only.
var errNoClosingSOA = errors.New("transfer ended before the closing SOA")

type xfrState int

const (
	xfrStart   xfrState = iota // nothing read
	xfrOpened                  // opening SOA read
	xfrBody                    // AXFR-style records
	xfrDeletes                 // IXFR: records removed since the diff's first SOA
	xfrAdds                    // IXFR: records added up to the diff's second SOA
	xfrDone                    // closing SOA read
)

// xfrParser follows the RR stream of an AXFR (RFC 5936) or IXFR (RFC 1995)
// answer, whatever the message boundaries.
type xfrParser struct {
	ixfr  bool
	since uint32 // IXFR: the serial we have
	state xfrState
	res   xfrResult
	cur   ixfrDiff
}

func (p *xfrParser) feed(rr dns.RR) error {
	soa, isSOA := rr.(*dns.SOA)
	switch p.state {
	case xfrStart:
		if !isSOA {
			return fmt.Errorf("%w: answer does not start with the SOA", errMalformed)
		}
		p.res.soa, p.state = soa, xfrOpened
	case xfrOpened:
		switch {
		case isSOA && p.ixfr && soa.Serial == p.since && soa.Serial != p.res.soa.Serial:
			p.cur, p.state = ixfrDiff{from: soa.Serial}, xfrDeletes
		case isSOA:
			return p.close(soa) // a zone with nothing but the SOA
		default:
			p.res.full, p.state = true, xfrBody
			p.res.rrs = append(p.res.rrs, rr)
		}
	case xfrBody:
		if isSOA {
			return p.close(soa)
		}
		p.res.rrs = append(p.res.rrs, rr)
	case xfrDeletes:
		if isSOA {
			p.cur.to, p.state = soa.Serial, xfrAdds
			return nil
		}
		p.cur.del = append(p.cur.del, rr)
	case xfrAdds:
		if !isSOA {
			p.cur.add = append(p.cur.add, rr)
			return nil
		}
		p.res.diffs = append(p.res.diffs, p.cur)
		if p.cur.to == p.res.soa.Serial && soa.Serial == p.res.soa.Serial {
			return p.close(soa)
		}
		if soa.Serial != p.cur.to {
			return fmt.Errorf("%w: IXFR step starts at serial %d, previous ended at %d", errMalformed, soa.Serial, p.cur.to)
		}
		p.cur, p.state = ixfrDiff{from: soa.Serial}, xfrDeletes
	case xfrDone:
		return fmt.Errorf("%w: records after the closing SOA", errMalformed)
	}
	return nil
}

func (p *xfrParser) close(soa *dns.SOA) error {
	if soa.Serial != p.res.soa.Serial {
		return fmt.Errorf("%w: closing SOA serial %d differs from opening %d", errMalformed, soa.Serial, p.res.soa.Serial)
	}
	p.state = xfrDone
	return nil
}

// endOfMessage is called after each message; an IXFR answer of one lone
// SOA not newer than ours means "nothing changed".
func (p *xfrParser) endOfMessage() {
	if p.ixfr && p.state == xfrOpened && !serialNewer(p.res.soa.Serial, p.since) {
		p.res.upToDate, p.state = true, xfrDone
	}
}

// serialNewer compares serials in RFC 1982 arithmetic.
func serialNewer(a, b uint32) bool {
	return a != b && int32(a-b) > 0
}

// transfer runs an AXFR, or an IXFR from serial since when ixfr is set,
// over a fresh connection and returns the parsed answer.
func (s *settings) transfer(c *conn, zone string, ixfr bool, since *dns.SOA) (*xfrResult, error) {
	q := new(dns.Msg)
	q.Id = dns.Id()
	p := &xfrParser{ixfr: ixfr}
	if ixfr {
		q.SetIxfr(zone, since.Serial, since.Ns, since.Mbox)
		p.since = since.Serial
	} else {
		q.SetAxfr(zone)
	}
	if err := c.send(q); err != nil {
		return nil, err
	}
	for p.state != xfrDone {
		m, err := c.recv()
		if err != nil {
			switch {
			case isRcode(err):
				return nil, fmt.Errorf("transfer refused (%w)", err)
			case p.state != xfrStart:
				return nil, fmt.Errorf("%w: %w", errNoClosingSOA, err)
			}
			return nil, err
		}
		for _, rr := range m.Answer {
			if err := p.feed(rr); err != nil {
				return nil, err
			}
		}
		p.endOfMessage()
	}
	return &p.res, nil
}

func isRcode(err error) bool {
	_, ok := asRcode(err)
	return ok
}

func asRcode(err error) (*RcodeError, bool) {
	if err == nil {
		return nil, false
	}
	return errors.AsType[*RcodeError](err)
}
