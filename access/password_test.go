package access

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash format: %s", h)
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct horsE") || CheckPassword(h, "") {
		t.Fatal("check")
	}
}

// Hashes tana did not write, or wrote with other parameters.
func TestCheckPasswordHashes(t *testing.T) {
	good, _ := HashPassword("pw")
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	cases := []struct {
		name, hash string
		ok         bool
	}{
		{"good", good, true},
		// A later tana with raised parameters: the hash carries its own.
		{"stronger parameters still check", hashWith("pw", []byte("0123456789abcdef"), 3, 32*1024, 2), true},
		{"empty", "", false},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", false},
		{"argon2i", with(1, "argon2i"), false},
		{"old version", with(2, "v=16"), false},
		{"a gigabyte and more", with(3, "m=2097152,t=2,p=1"), false},
		{"many passes", with(3, "m=19456,t=1000,p=1"), false},
		{"no threads", with(3, "m=19456,t=2,p=0"), false},
		{"junk parameters", with(3, "m=x"), false},
		{"bad salt", with(4, "!!"), false},
		{"short key", with(5, "AAAA"), false},
		{"extra part", good + "$x", false},
	}
	for _, c := range cases {
		if got := CheckPassword(c.hash, "pw"); got != c.ok {
			t.Errorf("%s: %v, want %v", c.name, got, c.ok)
		}
	}
}

func TestCheckNewPassword(t *testing.T) {
	for pw, ok := range map[string]bool{"short": false, "12345678": true, "ünïcödé!": true, strings.Repeat("a", 1025): false, "bad\xffutf8!!": false} {
		if err := CheckNewPassword(pw); (err == nil) != ok {
			t.Errorf("%q: %v", pw, err)
		}
	}
}

// FuzzCheckPassword feeds stored-hash strings to the parser: it must not
// panic, match what it cannot read, nor accept parameters out of bounds.
func FuzzCheckPassword(f *testing.F) {
	good, _ := HashPassword("pw")
	f.Add(good, "pw")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		h, ok := parseHash(hash)
		if !ok {
			if CheckPassword(hash, pw) {
				t.Fatal("an unreadable hash matched")
			}
			return
		}
		if h.memory > maxArgonMemory || h.time > maxArgonTime || h.threads > maxArgonThreads || len(h.key) > 64 {
			t.Fatalf("accepted parameters out of bounds: %+v", h)
		}
		if h.memory <= 1024 && h.time <= 2 {
			CheckPassword(hash, pw) // cheap enough to run each time
		}
	})
}
