package server

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"

	"github.com/tana-cmdb/tana/server/web/assets"
)

// graphiqlTemplate is GraphiQL from the embedded, vendored files: no CDN,
// so it works air-gapped, and no inline script, so the CSP can allow
// scripts from 'self' only (graphiql-init.js starts it).
var graphiqlTemplate = template.Must(template.New("graphiql").Funcs(template.FuncMap{"asset": assets.Path}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>tana GraphiQL</title>
  <link rel="icon" href="{{asset "favicon.svg"}}">
  <link rel="stylesheet" href="{{asset "vendor/graphiql.min.css"}}">
  <link rel="stylesheet" href="{{asset "graphiql.css"}}">
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{{asset "vendor/react.production.min.js"}}"></script>
  <script src="{{asset "vendor/react-dom.production.min.js"}}"></script>
  <script src="{{asset "vendor/graphiql.min.js"}}"></script>
  <script src="{{asset "graphiql-init.js"}}"></script>
</body>
</html>
`))

// graphiqlPage renders the page once; the asset URLs are fixed per build.
func graphiqlPage() []byte {
	var buf bytes.Buffer
	if err := graphiqlTemplate.Execute(&buf, nil); err != nil {
		panic(err) // no data, fixed asset names: TestGraphiQLOffline renders it
	}
	return buf.Bytes()
}

// graphiqlCSP is the GraphiQL page's policy: scripts, styles, fonts and
// requests from this server only, no inline script, no eval, no framing.
// GraphiQL's stylesheet embeds its fonts and icons as data: URLs.
// Styles need 'unsafe-inline': GraphiQL 4's dialogs (settings, shortcuts)
// lock scrolling by inserting a <style> element whose content depends on
// the scrollbar's width, so no hash can allow it
// (TestGraphiQLInBrowser opens one). Inline style cannot run code.
func graphiqlCSP() string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline'",
		"font-src 'self' data:",
		"img-src 'self' data:",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func (s *Server) graphiql(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", graphiqlCSP())
	w.Write(s.graphiqlPage)
}
