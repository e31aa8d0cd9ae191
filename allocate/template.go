package allocate

import (
	"fmt"
	"strconv"
	"strings"
)

// template is a name_pool's template: literal text, one {seq} (or
// {seq:0N}, zero-padded to N digits) and variables such as {env}. An
// empty template hands out the sequence numbers themselves (serials).
type template struct {
	text  string
	parts []part
	width int // of {seq}
}

// part is literal text, or a variable (name set), or the sequence.
type part struct {
	lit, name string
	seq       bool
}

// parseTemplate reads a template; errors name what is wrong.
func parseTemplate(s string) (*template, error) {
	t := &template{text: s}
	if s == "" {
		t.parts = []part{{seq: true}}
		return t, nil
	}
	seqs := 0
	for rest := s; rest != ""; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		if rest[i] == '}' {
			return nil, fieldError("template", "%q has a } without its {", s)
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fieldError("template", "%q has a { without its }", s)
		}
		name, format, _ := strings.Cut(rest[i+1:i+j], ":")
		switch {
		case name == "seq":
			seqs++
			if format != "" {
				w, err := strconv.Atoi(strings.TrimPrefix(format, "0"))
				if err != nil || !strings.HasPrefix(format, "0") || w < 1 || w > 18 {
					return nil, fieldError("template", "%q: {seq:%s} is not a width such as {seq:03}", s, format)
				}
				t.width = w
			}
			t.parts = append(t.parts, part{seq: true})
		case !validVar(name) || format != "":
			return nil, fieldError("template", "%q: {%s} is neither {seq} nor a variable such as {env}", s, rest[i+1:i+j])
		default:
			t.parts = append(t.parts, part{name: name})
		}
		rest = rest[i+j+1:]
	}
	if seqs != 1 {
		return nil, fieldError("template", "%q must hold {seq} exactly once (it holds it %d times), e.g. web{seq:03}", s, seqs)
	}
	return t, nil
}

func validVar(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// variant is the template with its variables filled and {seq} left: each
// variant numbers its names on its own. It fails naming a variable vars
// lack.
func (t *template) variant(vars map[string]string) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.seq:
			b.WriteString("{seq}")
		case p.name != "":
			v, ok := vars[p.name]
			if !ok || v == "" {
				return "", fieldError("vars", "the template %q needs %s: pass it (--var %s=…)", t.text, p.name, p.name)
			}
			if strings.ContainsAny(v, "{}") {
				return "", fieldError("vars."+p.name, "%q may not hold { or }", v)
			}
			b.WriteString(v)
		default:
			b.WriteString(p.lit)
		}
	}
	return b.String(), nil
}

// render is a variant's value for seq.
func (t *template) render(variant string, seq int64) string {
	n := strconv.FormatInt(seq, 10)
	if pad := t.width - len(n); pad > 0 {
		n = strings.Repeat("0", pad) + n
	}
	return strings.Replace(variant, "{seq}", n, 1)
}

// serial reports whether the template hands out bare numbers.
func (t *template) serial() bool { return t.text == "" }

func (t *template) String() string { return fmt.Sprintf("%q", t.text) }
