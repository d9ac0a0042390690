"""Dynamic call tracking: each site visitor is shown a number from the site's pool, and a call to that number
is matched to the visit (its UTM tags, click ids, pages).

`pool` gives and keeps numbers (safe under concurrent requests on both stores), `edge` serves the snippet and
the session routes, `matching` attaches a call (or a form) to the visit, `usage` sums up the pool's use.
"""
