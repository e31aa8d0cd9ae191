package ansible

import (
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// GuestOSFamily is a key computed from a host's guest_os (vSphere's guest
// name, "Ubuntu Linux (64-bit)", or guest id, "windows2019srv_64Guest"):
// linux, windows, bsd, macos, solaris or other. Keyed groups may use it
// like an attribute; a type with an attribute of that name uses its own.
const GuestOSFamily = "guest_os_family"

// familyGetter is the getter of GuestOSFamily for t, if it is one.
func familyGetter(t *schema.EntityType, path string) (getter, bool) {
	if path != GuestOSFamily || t.Attr(GuestOSFamily) != nil || t.Attr("guest_os") == nil {
		return getter{}, false
	}
	return getter{attr: "guest_os", idx: attrIndex(t, "guest_os"), family: true}, true
}

// hasKey reports whether a keyed group's key names something of t.
func hasKey(t *schema.EntityType, key string) bool {
	head, _, _ := strings.Cut(key, ".")
	_, family := familyGetter(t, key)
	return head == "name" || t.Attr(head) != nil || family
}

// families maps words of guest names and ids to families, checked in
// order: "Oracle Solaris" is solaris, "Oracle Linux" linux, "darwin" not
// windows.
var families = []struct {
	family string
	words  []string
}{
	{"solaris", []string{"solaris"}},
	{"bsd", []string{"freebsd", "netbsd", "openbsd"}},
	{"macos", []string{"darwin", "macos", "mac os"}},
	{"windows", []string{"windows"}},
	{"linux", []string{"linux", "ubuntu", "debian", "centos", "rhel", "red hat", "suse", "sles", "fedora", "rocky", "alma",
		"photon", "coreos", "amazon", "asianux", "mandrake", "mandriva"}},
}

// osFamily is the family of a guest name or id; nil (no group) when there
// is none.
func osFamily(v any) any {
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	s = strings.ToLower(s)
	for _, f := range families {
		for _, w := range f.words {
			if strings.Contains(s, w) {
				return f.family
			}
		}
	}
	if strings.HasPrefix(s, "win") { // guest ids: winNetStandardGuest, winXPProGuest
		return "windows"
	}
	return "other"
}
