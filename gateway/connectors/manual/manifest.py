"""The manual connector's contract (see gateway/connectors/manifest.py)."""

from gateway.connectors.manifest import Manifest

MANIFEST = Manifest(
    channel="manual",
    name="Leads entered by hand",
    receives="a lead an operator enters through the API (POST /api/v1/leads); no route of its own",
    keys=("the request's Idempotency-Key header, else a random id",),
)
