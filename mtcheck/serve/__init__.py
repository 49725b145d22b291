"""`mtcheck serve`: the checker over HTTP."""
