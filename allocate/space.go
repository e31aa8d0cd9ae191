package allocate

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
)

// span is a run of addresses, first to last, both in.
type span struct{ first, last netip.Addr }

// size is how many addresses the span holds, at most max.
func (s span) size(max int64) int64 {
	n := new(big.Int).Sub(addrInt(s.last), addrInt(s.first))
	n.Add(n, big.NewInt(1))
	if !n.IsInt64() || n.Int64() > max {
		return max
	}
	return n.Int64()
}

// space is the ordered addresses an ip_pool hands out: its ranges (or its
// CIDR but the network and broadcast addresses) minus what it excludes
// and its gateway. An address's place in the space is its seq.
type space struct {
	prefix netip.Prefix
	spans  []span
	sizes  []int64 // cumulative: sizes[i] is the number of addresses before spans[i+1]
}

// maxSpace bounds a pool's size: an IPv6 /64 holds more than a pool needs.
const maxSpace = int64(1) << 40

// newSpace builds an ip_pool's space; errors name the attribute at fault.
func newSpace(cidr string, ranges, exclude []string, gateway string) (*space, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fieldError("cidr", "%q is not a CIDR: %v", cidr, err)
	}
	prefix = prefix.Masked()
	var in []span
	for i, r := range ranges {
		s, err := parseSpan(r)
		if err != nil {
			return nil, fieldError(fmt.Sprintf("ranges[%d]", i), "%v", err)
		}
		if !prefix.Contains(s.first) || !prefix.Contains(s.last) {
			return nil, fieldError(fmt.Sprintf("ranges[%d]", i), "%s is not inside %s", r, prefix)
		}
		in = append(in, s)
	}
	if len(in) == 0 {
		in = []span{hostSpan(prefix)}
	}
	var out []span
	for i, x := range exclude {
		s, err := parseSpan(x)
		if err != nil {
			return nil, fieldError(fmt.Sprintf("exclude[%d]", i), "%v", err)
		}
		out = append(out, s)
	}
	if gateway != "" {
		g, err := netip.ParseAddr(gateway)
		if err != nil {
			return nil, fieldError("gateway", "%q is not an address", gateway)
		}
		out = append(out, span{g, g})
	}
	sp := &space{prefix: prefix, spans: subtract(merge(in), merge(out))}
	total := int64(0)
	for _, s := range sp.spans {
		total += s.size(maxSpace - total)
		sp.sizes = append(sp.sizes, total)
	}
	if total == 0 {
		return nil, fieldError("ranges", "the pool %s has no address to hand out", prefix)
	}
	return sp, nil
}

// hostSpan is a prefix without its network and broadcast addresses (none
// are left out of a /31, /32, /127 or /128; IPv6 has no broadcast).
func hostSpan(p netip.Prefix) span {
	first, last := p.Addr(), lastOf(p)
	if p.Addr().Is4() && p.Bits() <= 30 {
		return span{first.Next(), last.Prev()}
	}
	if p.Addr().Is6() && p.Bits() <= 126 {
		return span{first.Next(), last} // the subnet-router anycast address
	}
	return span{first, last}
}

// lastOf is a prefix's last address.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// parseSpan reads "192.0.2.10", "192.0.2.10-192.0.2.20" or "192.0.2.0/28".
func parseSpan(s string) (span, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return span{p.Masked().Addr(), lastOf(p)}, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	first, err := netip.ParseAddr(strings.TrimSpace(a))
	if err != nil {
		return span{}, fmt.Errorf("%q is not an address, a first-last range or a CIDR", s)
	}
	last := first
	if isRange {
		if last, err = netip.ParseAddr(strings.TrimSpace(b)); err != nil || last.Is4() != first.Is4() {
			return span{}, fmt.Errorf("%q is not a first-last range", s)
		}
	}
	if last.Less(first) {
		return span{}, fmt.Errorf("%q runs backwards", s)
	}
	return span{first, last}, nil
}

// merge sorts spans and joins those that touch.
func merge(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int { return a.first.Compare(b.first) })
	var out []span
	for _, s := range ss {
		if n := len(out); n > 0 && (out[n-1].last.Next() == s.first || !out[n-1].last.Less(s.first)) {
			if out[n-1].last.Less(s.last) {
				out[n-1].last = s.last
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// subtract removes the sorted, merged spans of b from those of a.
func subtract(a, b []span) []span {
	var out []span
	for _, s := range a {
		for _, x := range b {
			if x.last.Less(s.first) || s.last.Less(x.first) {
				continue
			}
			if s.first.Less(x.first) {
				out = append(out, span{s.first, x.first.Prev()})
			}
			if !x.last.Less(s.last) {
				s.first = netip.Addr{}
				break
			}
			s.first = x.last.Next()
		}
		if s.first.IsValid() {
			out = append(out, s)
		}
	}
	return out
}

// Size is how many addresses the space holds.
func (sp *space) Size() int64 { return sp.sizes[len(sp.sizes)-1] }

// at is the address at place seq.
func (sp *space) at(seq int64) netip.Addr {
	i, _ := slices.BinarySearch(sp.sizes, seq+1)
	before := int64(0)
	if i > 0 {
		before = sp.sizes[i-1]
	}
	off := new(big.Int).Add(addrInt(sp.spans[i].first), big.NewInt(seq-before))
	return intAddr(off, sp.prefix.Addr().Is4())
}

// seqOf is the place of an address in the space; ok is false when the
// space does not hand it out.
func (sp *space) seqOf(a netip.Addr) (int64, bool) {
	before := int64(0)
	for i, s := range sp.spans {
		if !a.Less(s.first) && !s.last.Less(a) {
			off := new(big.Int).Sub(addrInt(a), addrInt(s.first))
			return before + off.Int64(), true
		}
		before = sp.sizes[i]
	}
	return 0, false
}

func addrInt(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

func intAddr(n *big.Int, v4 bool) netip.Addr {
	size := 16
	if v4 {
		size = 4
	}
	b := make([]byte, size)
	n.FillBytes(b)
	a, _ := netip.AddrFromSlice(b)
	return a
}
