package assets

import (
	"bytes"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// urlAttrs are the HTML attributes whose value is a URL (or, for srcset,
// a list of them) a browser may load or follow.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "srcset": true, "action": true, "formaction": true, "poster": true,
	"data": true, "cite": true, "background": true, "manifest": true, "longdesc": true,
	"ping": true, "xlink:href": true, "imagesrcset": true,
}

// cssURL finds url(…) and @import "…" in CSS.
var cssURL = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)`)

// ExternalRefs returns every URL in an HTML page that points outside the
// server: absolute http(s) and protocol-relative (//host/…) URLs in
// URL-carrying attributes, in srcset lists, in a meta refresh, and in
// CSS (style attributes and <style> elements). tana's pages link to
// themselves with root-relative paths only, so any result is a defect:
// an air-gapped browser would wait for it, and the CSP refuses it.
func ExternalRefs(page []byte) []string {
	var refs []string
	add := func(u string) {
		if isExternal(u) {
			refs = append(refs, strings.TrimSpace(u))
		}
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	inStyle := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return refs // io.EOF, or the tokenizer's end of a malformed page
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			inStyle = t.Data == "style"
			for _, a := range t.Attr {
				attrRefs(t, a, add)
			}
		case html.TextToken:
			if inStyle {
				cssRefs(string(z.Text()), add)
			}
		case html.EndTagToken:
			inStyle = false
		}
	}
}

func attrRefs(t html.Token, a html.Attribute, add func(string)) {
	key := strings.ToLower(a.Key)
	if a.Namespace != "" {
		key = a.Namespace + ":" + key
	}
	switch {
	case key == "srcset" || key == "imagesrcset":
		for cand := range strings.SplitSeq(a.Val, ",") {
			if f := strings.Fields(cand); len(f) > 0 {
				add(f[0])
			}
		}
	case key == "ping":
		for _, u := range strings.Fields(a.Val) {
			add(u)
		}
	case urlAttrs[key]:
		add(a.Val)
	case key == "style":
		cssRefs(a.Val, add)
	case key == "content" && t.Data == "meta":
		// <meta http-equiv="refresh" content="0; url=https://…">
		if i := strings.Index(strings.ToLower(a.Val), "url="); i >= 0 {
			add(strings.Trim(a.Val[i+len("url="):], `'" `))
		}
	}
}

func cssRefs(css string, add func(string)) {
	for _, m := range cssURL.FindAllStringSubmatch(css, -1) {
		add(m[1] + m[2])
	}
}

// isExternal: http(s): and ws(s): URLs (browsers take https:host
// without slashes too), and //host… (also with backslashes, which
// browsers read as slashes) leave the server; a path, a fragment, data:
// and the like do not. Browsers drop tabs and newlines inside URLs.
func isExternal(u string) bool {
	u = strings.ToLower(strings.TrimSpace(strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(u)))
	for _, p := range []string{"http:", "https:", "ws:", "wss:", "//", `\\`, `/\`, `\/`} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}
