package config

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tana-cmdb/tana/schema"
)

// Problem is one thing wrong in a configuration file.
type Problem struct {
	Line    int    // 0 when the file does not set the field (or there is no file)
	Field   string // sources[0].url, ansible.keyed_groups[1].key
	Message string
}

// at renders the problem as file:line: field: message.
func (p Problem) at(file string) string {
	loc := file
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", file, p.Line)
	}
	var parts []string
	for _, s := range []string{loc, p.Field, p.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// Problems is every problem found in one configuration file. As an error
// it lists them all, in line order; each is also a *schema.Error (code
// invalid) for errors.As.
type Problems struct {
	File string
	List []Problem
}

func (ps *Problems) Error() string {
	if len(ps.List) == 1 {
		return ps.List[0].at(ps.File)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems:", ps.File, len(ps.List))
	for _, p := range ps.List {
		b.WriteString("\n  " + p.at(ps.File))
	}
	return b.String()
}

// Unwrap returns the problems as *schema.Error values.
func (ps *Problems) Unwrap() []error {
	out := make([]error, len(ps.List))
	for i, p := range ps.List {
		loc := ps.File
		if p.Line > 0 {
			loc = fmt.Sprintf("%s:%d", ps.File, p.Line)
		}
		if p.Field != "" {
			loc += ": " + p.Field
		}
		out[i] = &schema.Error{Code: schema.EINVALID, Field: loc, Message: p.Message}
	}
	return out
}

// Err returns ps as one error that names the file, or nil when there are
// none.
func (c *Config) Err(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	list := append([]Problem(nil), ps...)
	sort.SliceStable(list, func(i, j int) bool { return lineKey(list[i]) < lineKey(list[j]) })
	file := c.file
	if file == "" {
		file = "configuration"
	}
	return &Problems{File: file, List: list}
}

// lineKey orders problems by line, those without one last.
func lineKey(p Problem) int {
	if p.Line == 0 {
		return int(^uint(0) >> 1)
	}
	return p.Line
}

// Problem returns a problem about field, placed on the line that sets it
// (or the nearest enclosing one that the file has).
func (c *Config) Problem(field, format string, args ...any) Problem {
	return Problem{Line: c.Line(field), Field: field, Message: fmt.Sprintf(format, args...)}
}

// ProblemOf turns err from a check outside this package into a problem
// about field. A *schema.Error's own field is taken as relative to field
// (ansible.Check says keyed_groups[1].key: the problem is about
// ansible.keyed_groups[1].key).
func (c *Config) ProblemOf(field string, err error) Problem {
	msg := err.Error()
	// Only a bare *schema.Error: a wrapped one's context is in its text.
	if e, ok := err.(*schema.Error); ok {
		msg = e.Message
		if e.Field != "" {
			field = joinField(field, e.Field)
		}
	}
	return Problem{Line: c.Line(field), Field: field, Message: msg}
}

func joinField(prefix, field string) string {
	if prefix == "" || strings.HasPrefix(field, "[") {
		return prefix + field
	}
	return prefix + "." + field
}

// Line returns the line of the file that sets field, or of the nearest
// enclosing field it sets; 0 when none.
func (c *Config) Line(field string) int {
	for f := field; f != ""; f = parentField(f) {
		if l, ok := c.lines[f]; ok {
			return l
		}
	}
	return 0
}

// parentField strips the last step of a field path: a.b[2].c → a.b[2] →
// a.b → a.
func parentField(f string) string {
	if i := strings.LastIndexAny(f, ".["); i >= 0 {
		return f[:i]
	}
	return ""
}

// recordLines maps every field path the YAML sets onto its line: a
// mapping entry to its key's line, a list item to the item's.
func recordLines(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			recordLines(c, path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinField(path, n.Content[i].Value)
			lines[p] = n.Content[i].Line
			recordLines(n.Content[i+1], p, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = c.Line
			recordLines(c, p, lines)
		}
	}
}

var (
	lineMsgRE  = regexp.MustCompile(`^line (\d+): (.*)$`)
	notFoundRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// decodeProblems turns yaml.v3's decoding errors ("line 3: field lisen not
// found in type config.Config") into problems naming the field.
func (c *Config) decodeProblems(err error) []Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []Problem{c.lineProblem(strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	out := make([]Problem, 0, len(te.Errors))
	for _, msg := range te.Errors {
		out = append(out, c.lineProblem(msg))
	}
	return out
}

// lineProblem makes a problem of a "line N: message" text, finding the
// field set on that line.
func (c *Config) lineProblem(msg string) Problem {
	m := lineMsgRE.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Message: msg}
	}
	line, _ := strconv.Atoi(m[1])
	p := Problem{Line: line, Message: m[2]}
	if nf := notFoundRE.FindStringSubmatch(m[2]); nf != nil {
		p.Field, p.Message = c.fieldAt(line, nf[1]), "unknown field"
		return p
	}
	p.Field = c.fieldAt(line, "")
	return p
}

// fieldAt returns the deepest field set on line (ending in key, if given).
func (c *Config) fieldAt(line int, key string) string {
	best := key
	for f, l := range c.lines {
		if l != line || key != "" && !strings.HasSuffix(f, key) {
			continue
		}
		if len(f) > len(best) || len(f) == len(best) && f < best {
			best = f
		}
	}
	return best
}
