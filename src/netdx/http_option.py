"""`check`'s HTTP and TLS options: --cacert, -k/--insecure, --expect-status, --method,
--header, as one decorator that hands the command `http: HttpOptions`.

Every value is validated before any probe: a bad one is one line and exit 2 (UsageError).
A header must not smuggle a second line into the request (no CR/LF anywhere), its name is
an RFC 9110 token; --cacert is a regular file of at most 4 MiB holding PEM certificates
that OpenSSL loads.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from netdx.errors import UsageError

if TYPE_CHECKING:  # `netdx --help` builds these options: the model is imported when used
    from netdx.model.service import HttpOptions

F = TypeVar("F", bound=Callable[..., Any])

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")

CA_LIMIT = 4 * 1024 * 1024  # the Debian bundle of every public CA is ~0.2 MiB
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PEM = "-----BEGIN CERTIFICATE-----"

_OPTIONS = (
    click.option(
        "--cacert",
        metavar="FILE",
        help="Verify the server's certificate against the CA certificates (PEM) of FILE "
        "instead of the system trust store, like curl --cacert.",
    ),
    click.option(
        "-k",
        "--insecure",
        is_flag=True,
        default=False,
        help="Do not verify the certificate (the report says verification was skipped).",
    ),
    click.option(
        "--expect-status",
        metavar="N[,N...]",
        help="HTTP statuses that count as success (default: any status below 400).",
    ),
    click.option(
        "--method",
        metavar="M",
        help=f"HTTP method: {', '.join(HTTP_METHODS)} (default GET).",
    ),
    click.option(
        "--header",
        "headers",
        multiple=True,
        metavar="'K: V'",
        help="Extra request header (repeatable).",
    ),
)


def parse_statuses(text: str) -> tuple[int, ...]:
    """`200,204` as statuses; UsageError for anything but 100..599."""
    statuses: list[int] = []
    for part in text.split(","):
        word = part.strip()
        if not word.isascii() or not word.isdigit() or not 100 <= int(word) <= 599:
            raise UsageError(f"--expect-status {text!r}: want HTTP statuses 100-599, as 200,204")
        if int(word) not in statuses:
            statuses.append(int(word))
    return tuple(statuses)


def parse_method(text: str) -> str:
    method = text.strip().upper()
    if method not in HTTP_METHODS:
        raise UsageError(f"--method {text!r}: want one of {', '.join(HTTP_METHODS)}")
    return method


def parse_header(text: str) -> tuple[str, str]:
    """`'K: V'` as (K, V); the name a token, no CR, LF or NUL anywhere, Host not allowed
    (the URL's name is the Host: the check is about that server)."""
    if any(c in text for c in "\r\n\x00"):
        raise UsageError(f"--header {text!r}: CR, LF and NUL are not allowed")
    if any(not (c == "\t" or " " <= c <= "~") for c in text):
        raise UsageError(f"--header {text!r}: only printable ASCII is allowed")
    name, colon, value = text.partition(":")
    if not colon or not _TOKEN.fullmatch(name):
        raise UsageError(f"--header {text!r}: want 'Name: value' with a token name")
    if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
        raise UsageError(f"--header {text!r}: netdx sets {name} itself")
    return name, value.strip(" \t")


def read_ca(path: str) -> str:
    """The PEM text of `path` when OpenSSL loads certificates from it; UsageError else."""
    import ssl

    from netdx.files import read_user_file

    pem = read_user_file(path, what="--cacert", limit=CA_LIMIT)
    if _PEM not in pem:
        raise UsageError(f"--cacert {path!r}: no PEM certificate in it")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise UsageError(f"--cacert {path!r}: not loadable: {exc}") from None
    return pem


def build(
    *,
    cacert: str | None = None,
    insecure: bool = False,
    expect_status: str | None = None,
    method: str | None = None,
    headers: tuple[str, ...] = (),
) -> HttpOptions:
    """The validated options (UsageError for a bad one)."""
    from netdx.model.service import HttpOptions

    if cacert is not None and insecure:
        raise UsageError("--cacert and -k/--insecure cannot be combined")
    return HttpOptions(
        method=parse_method(method) if method is not None else "GET",
        headers=tuple(parse_header(h) for h in headers),
        expect_status=parse_statuses(expect_status) if expect_status is not None else (),
        ca_file=cacert,
        ca_pem=read_ca(cacert) if cacert is not None else None,
        insecure=insecure,
    )


def given(options: HttpOptions) -> bool:
    """Does `options` ask anything of HTTP beyond the default GET?"""
    from netdx.model.service import HttpOptions

    return options != HttpOptions()


def http_options(func: F) -> F:
    """Add --cacert, -k/--insecure, --expect-status, --method, --header to a click command
    and hand it `http: HttpOptions` instead."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        cacert: str | None,
        insecure: bool,
        expect_status: str | None,
        method: str | None,
        headers: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        kwargs["http"] = build(cacert=cacert, insecure=insecure, expect_status=expect_status,
                               method=method, headers=headers)  # fmt: skip
        return func(*args, **kwargs)

    decorated: Callable[..., Any] = wrapper
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    return cast(F, decorated)
