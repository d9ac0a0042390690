"""The site forms connector's contract (see gateway/connectors/manifest.py)."""

from gateway.config.forms import FormSettings
from gateway.connectors.manifest import Manifest

MANIFEST = Manifest(
    channel="forms",
    name="Site forms",
    receives="form submissions (multipart with files, urlencoded or JSON); each submission becomes a lead",
    routes=(
        ("POST", "/hooks/forms/{form_id}"),
        ("OPTIONS", "/hooks/forms/{form_id}"),
        ("GET", "/hooks/forms/{form_id}/thanks"),
    ),
    settings=FormSettings,
    settings_key="forms",
    keys=("{submission id}: 128 random bits per accepted submission",),
    docs=(
        "https://html.spec.whatwg.org/multipage/form-control-infrastructure.html#form-submission-2",
        "https://www.rfc-editor.org/rfc/rfc7578",
    ),
)
