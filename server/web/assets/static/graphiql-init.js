// Starts GraphiQL on /graphiql. It lives in a file, not inline, so the
// page's Content-Security-Policy can allow scripts from 'self' only.
"use strict";
(function () {
  // A token, if the server needs one, is kept in this browser only.
  const token = localStorage.getItem("tanaToken");
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const fetcher = GraphiQL.createFetcher({ url: "graphql", headers });
  ReactDOM.createRoot(document.getElementById("graphiql"))
    .render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }));
})();
