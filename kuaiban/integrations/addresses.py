"""Where webhooks may post: public addresses only, unless an administrator allows private ones.

A webhook URL is a request the server makes on someone's behalf. Pointed at ``127.0.0.1``,
``169.254.169.254`` or the county's intranet, it would let whoever registers webhooks probe and
post to machines only the server can reach. So every address a URL's host resolves to must be
public, when the webhook is registered and again at each delivery (the name may resolve elsewhere
by then: DNS rebinding). The connection is made to the address that was checked, not to a second
lookup. ``KUAIBAN_WEBHOOK_ALLOW_PRIVATE=true`` lifts the rule (a receiver on the same intranet,
the test suite's receivers on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from kuaiban.core.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# What http.client passes for "no timeout given" (a private sentinel of the socket module).
_DEFAULT_TIMEOUT: Any = getattr(socket, "_GLOBAL_DEFAULT_TIMEOUT", None)


class PrivateAddress(OSError):
    """The host resolves to an address webhooks may not reach."""


def private_allowed() -> bool:
    return bool(getattr(settings, "KUAIBAN_WEBHOOK_ALLOW_PRIVATE", False))


def is_refused(address: Address) -> bool:
    """Loopback, link-local, private, reserved, multicast, unspecified or otherwise not global."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def _resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _address_of(sockaddr: tuple[Any, ...]) -> Address:
    return ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])


def refused_addresses(host: str, port: int) -> list[str]:
    """The addresses of ``host`` that webhooks may not reach (all must be allowed)."""
    return sorted(
        {
            str(_address_of(info[4]))
            for info in _resolve(host, port)
            if is_refused(_address_of(info[4]))
        }
    )


def check_url(url: str, field: str = "url") -> str:
    """``url`` if webhooks may post to it, else ValidationFailed naming ``field`` (400)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.one(field, _("An http:// or https:// URL."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationFailed.one(field, _("An http:// or https:// URL.")) from None
    if private_allowed():
        return url
    try:
        refused = refused_addresses(parts.hostname, port)
    except (OSError, UnicodeError):
        raise ValidationFailed.one(
            field, _("The host %(host)s could not be resolved.") % {"host": parts.hostname}
        ) from None
    if refused:
        raise ValidationFailed.one(
            field,
            _(
                "Webhooks may not post to loopback, link-local or private addresses "
                "(%(host)s is %(addresses)s)."
            )
            % {"host": parts.hostname, "addresses": ", ".join(refused)},
        )
    return url


def create_connection(
    address: tuple[str, int],
    timeout: Any = _DEFAULT_TIMEOUT,
    source_address: Any = None,
) -> socket.socket:
    """socket.create_connection that resolves once, refuses private addresses (unless allowed)
    and connects to exactly the addresses it checked."""
    host, port = address
    infos = _resolve(host, port)
    if not private_allowed():
        refused = sorted({str(_address_of(i[4])) for i in infos if is_refused(_address_of(i[4]))})
        if refused:
            raise PrivateAddress(f"refused: {host} resolves to {', '.join(refused)}")
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"no address for {host}")
