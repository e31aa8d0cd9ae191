package dns

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	const secret = "c2VjcmV0IHRoYXQgaXMgb2s="
	cases := []struct {
		name    string
		cfg     Config
		err     string
		server  string
		zones   []string
		timeout time.Duration
	}{
		{name: "defaults", cfg: Config{Name: "dns1", Server: "192.0.2.53", Zones: []string{"Example.COM", "example.com.", "2.0.192.in-addr.arpa"}},
			server: "192.0.2.53:53", zones: []string{"example.com.", "2.0.192.in-addr.arpa."}, timeout: DefaultTimeout},
		{name: "ipv6 with port", cfg: Config{Name: "dns1", Server: "[2001:db8::53]:5353", Zones: []string{"example.com."}, Timeout: time.Second},
			server: "[2001:db8::53]:5353", zones: []string{"example.com."}, timeout: time.Second},
		{name: "key", cfg: Config{Name: "dns1", Server: "ns1:53", Zones: []string{"example.com."}, TSIG: &TSIG{Name: "k", Algorithm: "HMAC-SHA512.", Secret: secret}},
			server: "ns1:53", zones: []string{"example.com."}, timeout: DefaultTimeout},
		{name: "md5 long name", cfg: Config{Name: "dns1", Server: "ns1:53", Zones: []string{"example.com."}, TSIG: &TSIG{Name: "k", Algorithm: "hmac-md5.sig-alg.reg.int.", Secret: secret}},
			server: "ns1:53", zones: []string{"example.com."}, timeout: DefaultTimeout},
		{name: "no name", cfg: Config{Server: "ns1", Zones: []string{"example.com."}}, err: "name is required"},
		{name: "no server", cfg: Config{Name: "dns1", Zones: []string{"example.com."}}, err: "server is required"},
		{name: "no zones", cfg: Config{Name: "dns1", Server: "ns1"}, err: "no zones"},
		{name: "bad zone", cfg: Config{Name: "dns1", Server: "ns1", Zones: []string{"a..b"}}, err: "bad zone name"},
		{name: "bad algorithm", cfg: Config{Name: "dns1", Server: "ns1", Zones: []string{"x."}, TSIG: &TSIG{Name: "k", Algorithm: "gss-tsig", Secret: secret}}, err: "unsupported algorithm"},
		{name: "bad secret", cfg: Config{Name: "dns1", Server: "ns1", Zones: []string{"x."}, TSIG: &TSIG{Name: "k", Secret: "not base64!"}}, err: "not base64"},
		{name: "no key name", cfg: Config{Name: "dns1", Server: "ns1", Zones: []string{"x."}, TSIG: &TSIG{Secret: secret}}, err: "key name is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.cfg.settings()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.server != tc.server || !slices.Equal(s.zones, tc.zones) || s.timeout != tc.timeout {
				t.Errorf("got server %q zones %q timeout %v", s.server, s.zones, s.timeout)
			}
		})
	}
}
