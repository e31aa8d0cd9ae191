package ldaptest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The harness serves the directory over ldap:// and ldaps:// (the real
// ldapwhoami binds), and Modify changes it.
func TestStart(t *testing.T) {
	start := time.Now()
	s := Start(t, Options{})
	t.Logf("slapd up in %v at %s and %s", time.Since(start), s.URL, s.TLSURL)
	whoami := func(url, dn, password string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ldapwhoami", "-x", "-H", url, "-D", dn, "-w", password)
		cmd.Env = append(cmd.Environ(), "LDAPTLS_CACERT="+s.CAFile)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	alice := "uid=alice," + People
	for _, url := range []string{s.URL, s.TLSURL} {
		if out, err := whoami(url, alice, AlicePassword); err != nil || !strings.Contains(out, alice) {
			t.Fatalf("bind alice over %s: %v %s", url, err, out)
		}
	}
	if out, err := whoami(s.URL, alice, "wrong"); err == nil || !strings.Contains(out, "Invalid credentials") {
		t.Fatalf("wrong password: %v %s", err, out)
	}
	s.Modify(t, "dn: uid=alice,"+People+"\nchangetype: modify\nreplace: userPassword\nuserPassword: new-one\n")
	if out, err := whoami(s.URL, alice, "new-one"); err != nil {
		t.Fatalf("after modify: %v %s", err, out)
	}
}
