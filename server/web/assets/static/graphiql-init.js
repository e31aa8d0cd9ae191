// Starts GraphiQL on /graphiql. It lives in a file, not inline, so the
// page's Content-Security-Policy can allow scripts from 'self' only.
"use strict";
(async function () {
  // A token, if the server needs one, is kept in this browser only.
  // Without one, a person logged in to the web UI queries with the
  // session cookie, which needs the session's CSRF token on each POST.
  const token = localStorage.getItem("tanaToken");
  const headers = {};
  if (token) {
    headers.Authorization = "Bearer " + token;
  } else {
    const r = await fetch("session", { credentials: "same-origin" });
    if (r.ok) {
      const s = await r.json();
      if (s.csrf_token) headers["X-CSRF-Token"] = s.csrf_token;
    }
  }
  const fetcher = GraphiQL.createFetcher({ url: "graphql", headers });
  ReactDOM.createRoot(document.getElementById("graphiql"))
    .render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }));
})();
