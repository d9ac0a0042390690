"""The Mango Office connector's contract (see gateway/connectors/manifest.py)."""

from gateway.config.mango import MangoSettings
from gateway.connectors.manifest import Manifest

MANIFEST = Manifest(
    channel="mango",
    name="Mango Office VPBX",
    receives="signed call, summary and recording notifications; every call (entry_id) becomes one interaction",
    routes=(
        ("POST", "/hooks/mango/{account}/events/{name:.+}"),
        ("POST", "/hooks/mango/{account}/result/{name:.+}"),
        ("POST", "/hooks/mango/{account}/vpbx/result/{name:.+}"),
    ),
    settings=MangoSettings,
    settings_key="telephony.mango",
    keys=(
        "{event}:{entry_id}:{call_id}:{seq}:{recording_id}",
        "stats:{entry_id}",
        "fetch:{recording_id}",
    ),
    docs=(
        "https://www.mango-office.ru",
        "API MANGO OFFICE v1.9 (MangoOffice_VPBX_API_v1.9.pdf): notifications, signatures, commands",
    ),
)
