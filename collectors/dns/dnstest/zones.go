package dnstest

import (
	"fmt"
	"strings"
)

// ExampleZone is a forward zone with one record of every common type.
const ExampleZone = `$ORIGIN example.com.
$TTL 3600
@	IN SOA	ns1.example.com. hostmaster.example.com. 2024010101 3600 600 604800 300
@	IN NS	ns1.example.com.
@	IN NS	ns2.example.com.
@	IN MX	10 mail.example.com.
@	IN TXT	"v=spf1 mx -all"
@	IN CAA	0 issue "letsencrypt.org"
ns1	IN A	192.0.2.1
ns2	IN A	192.0.2.2
www	IN A	192.0.2.10
www	IN A	192.0.2.11
www	IN AAAA	2001:db8::10
mail	300 IN A	192.0.2.20
ftp	IN CNAME	www.example.com.
_sip._tcp	IN SRV	10 60 5060 sip.example.com.
sip	IN A	192.0.2.30
`

// ReverseZone is the reverse zone of 192.0.2.0/24 for ExampleZone.
const ReverseZone = `$ORIGIN 2.0.192.in-addr.arpa.
$TTL 3600
@	IN SOA	ns1.example.com. hostmaster.example.com. 2024010101 3600 600 604800 300
@	IN NS	ns1.example.com.
1	IN PTR	ns1.example.com.
10	IN PTR	www.example.com.
20	IN PTR	mail.example.com.
`

// LargeZone returns a zone of n A records (host0…) plus SOA and NS, for
// benchmarks.
func LargeZone(name string, n int) string {
	var b strings.Builder
	b.Grow(n * 32)
	fmt.Fprintf(&b, "$ORIGIN %s\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 600 604800 300\n@ IN NS ns1\nns1 IN A 10.0.0.1\n", name)
	for i := range n {
		fmt.Fprintf(&b, "host%d IN A 10.%d.%d.%d\n", i, (i>>16)&255, (i>>8)&255, i&255)
	}
	return b.String()
}
