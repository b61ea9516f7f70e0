"""One module per resource; its `add_routes(router, backend)` adds the routes to the
app's own router (`starter.api.main` calls them in order)."""
