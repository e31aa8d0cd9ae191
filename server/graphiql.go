package server

import "net/http"

// graphiqlPage loads GraphiQL from a CDN; the server itself serves only this
// page, so it works offline everywhere but in the browser.
const graphiqlPage = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>tana GraphiQL</title>
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
  <script>
    // A token, if the server needs one, is kept in this browser only.
    const token = localStorage.getItem("tanaToken");
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const fetcher = GraphiQL.createFetcher({ url: "graphql", headers });
    ReactDOM.createRoot(document.getElementById("graphiql"))
      .render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }));
  </script>
</body>
</html>
`

func (s *Server) graphiql(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", graphiqlCSP(graphiqlPage))
	w.Write([]byte(graphiqlPage))
}
