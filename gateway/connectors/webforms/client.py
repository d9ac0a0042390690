"""Who sent a request: the peer, or the client a trusted proxy names in X-Forwarded-For."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from gateway.core.errors import ConfigError

__all__ = ["TrustedProxies"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """`settings.http.trusted_proxies`: addresses or networks whose X-Forwarded-For we believe."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks: list[Network] = []
        for entry in entries:
            try:
                self._networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigError(f"config error: http.trusted_proxies: not an address or network: {entry!r}") \
                    from None

    def trusted(self, address: str | None) -> bool:
        if not address or not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        return any(ip in net for net in self._networks)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The peer, unless it is trusted: then the rightmost untrusted address it forwards."""
        if not forwarded_for or not self.trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        client = peer
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop.split("%")[0])
            except ValueError:
                return client  # garbage before a trusted hop: stop at what we know
            client = hop
            if not self.trusted(hop):
                return hop
        return client
