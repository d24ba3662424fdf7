"""`vidcot browse`: a read-only web page over a dataset, served on 127.0.0.1 with the standard library.

Layout: `server` (ThreadingHTTPServer and handler), `routes` (paths to pages), `pages/` (one module per view:
overview, videos, video, samples, sample, rejects), `queries/` (parameterised DuckDB SQL behind them, paged with
LIMIT/OFFSET), `store` (a pool of DuckDB connections over the manifest's shards), `markup` and `layout` (HTML built
only from escaped pieces), `filters` (the sample list's filters as URL query), `diff` (draft vs refined chain).
"""

from flows.browse.server import BrowseServer

__all__ = ["BrowseServer"]
