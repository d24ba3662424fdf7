"""One module per view; each has `render(Request) -> Html`."""
