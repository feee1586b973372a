"""SMS backends: where a message goes once the delivery log says it is due.

``KUAIBAN_SMS_BACKEND`` is the dotted path of one class below (or of your own with the same
``send`` method), the way Django chooses its e-mail backend:

- :class:`FileBackend` (the embedded default): one JSON line per message in
  ``$KUAIBAN_DATA_DIR/outbox/sms.jsonl``; nothing leaves the machine.
- :class:`HttpBackend`: a generic gateway that takes a JSON body over HTTP(S).
- :class:`AliyunBackend`: 阿里云短信服务 ``SendSms`` (Dysmsapi 2017-05-25), signed with the RPC
  signature (HMAC-SHA1 over the canonicalized query, SignatureVersion 1.0).
- :class:`TencentBackend`: 腾讯云短信 ``SendSms`` (API 2021-01-11), signed with TC3-HMAC-SHA256.

The signing functions are pure and tested against the services' own published examples
(``kuaiban/notify/tests/test_backends.py``); the adapters are tested against a local fake
server that checks each signature the way the cloud does. A backend raises :class:`SmsError`
saying whether trying again later may help; the delivery log does the retrying.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

RESPONSE_KEEP = 2000
USER_AGENT = "Kuaiban-SMS/1.0"


class SmsError(Exception):
    """A message the backend could not hand over. ``retry``: whether a later attempt may work
    (a timeout, a 5xx, the service's rate limit) or never will (a refused number or template)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Outgoing:
    """One message as a backend sees it."""

    to: str  # national mainland mobile digits, e.g. 13812345678
    text: str
    template: str  # our template's code (验证码 "code", "receipt" …)
    params: Mapping[str, str] = field(default_factory=dict)
    provider_template: str = ""  # the approved template's id at a cloud service
    provider_params: Sequence[str] = ()  # its placeholders, in order
    reference: str = ""  # our id for the message (Aliyun OutId, Tencent SessionContext)

    def ordered_params(self) -> list[str]:
        return [self.params.get(name, "") for name in self.provider_params]


class BaseBackend:
    """Send one message; return the service's id for it ("" if it gives none)."""

    def send(self, message: Outgoing) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def get_backend(path: str | None = None) -> BaseBackend:
    backend = import_string(path or settings.KUAIBAN_SMS_BACKEND)
    return backend()


def _setting(name: str) -> str:
    value = str(getattr(settings, name, "") or "")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set for this SMS backend")
    return value


# ----- the file outbox ---------------------------------------------------------------------------


class FileBackend(BaseBackend):
    """Appends ``{"to", "text", "template", "at"}`` as one line to the outbox file, under an
    exclusive lock so that several processes never interleave their lines."""

    def __init__(self, path: str | Path | None = None) -> None:
        configured = path or getattr(settings, "KUAIBAN_SMS_OUTBOX", "") or ""
        self.path = (
            Path(configured) if configured else Path(settings.DATA_DIR) / "outbox" / "sms.jsonl"
        )

    def send(self, message: Outgoing) -> str:
        line = json.dumps(
            {
                "to": message.to,
                "text": message.text,
                "template": message.template,
                "at": timezone.localtime().isoformat(timespec="seconds"),
            },
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                fcntl.flock(out, fcntl.LOCK_EX)
                out.write(line + "\n")
        except OSError as exc:
            raise SmsError(f"outbox not writable: {exc}") from exc
        return ""


# ----- HTTP plumbing -----------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a gateway that redirects has not taken the message


# The gateway is the one in the settings: no proxy from the environment, no redirects.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)


def _timeout() -> float:
    return float(getattr(settings, "KUAIBAN_SMS_TIMEOUT_SECONDS", 5.0))


def http_request(
    url: str, *, method: str, body: bytes | None, headers: Mapping[str, str]
) -> tuple[int, str]:
    """(status, response text). Network failures raise a retryable SmsError."""
    request = urllib.request.Request(
        url, data=body, headers={"User-Agent": USER_AGENT, **headers}, method=method
    )
    try:
        with _opener.open(request, timeout=_timeout()) as response:
            return response.status, response.read(RESPONSE_KEEP).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        text = exc.read(RESPONSE_KEEP).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, text
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SmsError(f"{type(exc).__name__}: {reason}"[:300]) from exc


def _status_error(status: int, text: str) -> SmsError:
    # 408, 425, 429 and 5xx are worth another try; other refusals are not.
    retry = status in (408, 425, 429) or status >= 500
    return SmsError(f"HTTP {status}: {text[:200]}", retry=retry)


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# ----- a generic HTTP gateway --------------------------------------------------------------------


class HttpBackend(BaseBackend):
    """Sends ``{"to", "text", "template", "params", "reference"}`` as JSON to
    ``KUAIBAN_SMS_HTTP_URL`` with ``KUAIBAN_SMS_HTTP_METHOD`` (POST) and, when set, the header
    ``KUAIBAN_SMS_HTTP_AUTH_HEADER`` ("Name: value", e.g. "Authorization: Bearer …"). Any 2xx
    answer is success; an ``id`` in a JSON answer is kept as the gateway's id."""

    def __init__(self) -> None:
        self.url = _setting("KUAIBAN_SMS_HTTP_URL")
        self.method = str(getattr(settings, "KUAIBAN_SMS_HTTP_METHOD", "POST") or "POST").upper()
        self.headers = {"Content-Type": "application/json; charset=utf-8"}
        auth = str(getattr(settings, "KUAIBAN_SMS_HTTP_AUTH_HEADER", "") or "")
        if auth:
            name, sep, value = auth.partition(":")
            if not sep or not name.strip():
                raise ImproperlyConfigured('KUAIBAN_SMS_HTTP_AUTH_HEADER is "Name: value"')
            self.headers[name.strip()] = value.strip()

    def send(self, message: Outgoing) -> str:
        body = json.dumps(
            {
                "to": message.to,
                "text": message.text,
                "template": message.template,
                "params": dict(message.params),
                "reference": message.reference,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        status, text = http_request(self.url, method=self.method, body=body, headers=self.headers)
        if not 200 <= status < 300:
            raise _status_error(status, text)
        return str(_json(text).get("id") or "")[:100]


# ----- 阿里云短信服务 (Dysmsapi SendSms, RPC signature) ------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba Cloud's RPC signature defines it: everything but
    ``A-Z a-z 0-9 - _ . ~`` as UTF-8 ``%XY`` (so a space is %20, ``*`` is %2A)."""
    return urllib.parse.quote(value, safe="~")


def aliyun_canonical_query(params: Mapping[str, str]) -> str:
    """The parameters (without Signature) sorted by name, each name and value encoded."""
    return "&".join(
        f"{percent_encode(k)}={percent_encode(v)}"
        for k, v in sorted(params.items())
        if k != "Signature"
    )


def aliyun_string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(aliyun_canonical_query(params))}"


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    """Base64 of HMAC-SHA1 with the key ``AccessKeySecret + "&"`` over the string to sign."""
    digest = hmac.new(
        f"{secret}&".encode(), aliyun_string_to_sign(params, method).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


# Codes of a refused SendSms that a later attempt may get past (the service's flow control).
_ALIYUN_RETRY = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling", "isp.SYSTEM_ERROR", "isp.RAM_")


class AliyunBackend(BaseBackend):
    """阿里云 ``SendSms``: POSTs the signed parameters as a form to ``KUAIBAN_SMS_ALIYUN_ENDPOINT``
    (https://dysmsapi.aliyuncs.com/). Needs the AccessKey pair, the approved sign name
    (``KUAIBAN_SMS_ALIYUN_SIGN_NAME``) and each template's ``provider_template`` (SMS_…);
    the template's placeholders go as ``TemplateParam`` JSON."""

    method = "POST"

    def __init__(self) -> None:
        self.key_id = _setting("KUAIBAN_SMS_ALIYUN_ACCESS_KEY_ID")
        self.secret = _setting("KUAIBAN_SMS_ALIYUN_ACCESS_KEY_SECRET")
        self.sign_name = _setting("KUAIBAN_SMS_ALIYUN_SIGN_NAME")
        self.endpoint = str(
            getattr(settings, "KUAIBAN_SMS_ALIYUN_ENDPOINT", "") or "https://dysmsapi.aliyuncs.com/"
        )
        self.region = str(getattr(settings, "KUAIBAN_SMS_ALIYUN_REGION", "") or "cn-hangzhou")

    def params(self, message: Outgoing, *, nonce: str, timestamp: str) -> dict[str, str]:
        if not message.provider_template:
            raise SmsError(
                f"template {message.template!r} has no cloud template id (SMS_…)", retry=False
            )
        names = list(message.provider_params) or list(message.params)
        template_param = {n: message.params.get(n, "") for n in names}
        params = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "Timestamp": timestamp,
            "Version": "2017-05-25",
            "PhoneNumbers": message.to,
            "SignName": self.sign_name,
            "TemplateCode": message.provider_template,
            "TemplateParam": json.dumps(template_param, ensure_ascii=False, separators=(",", ":")),
        }
        if message.reference:
            params["OutId"] = message.reference
        params["Signature"] = aliyun_signature(params, self.secret, self.method)
        return params

    def send(self, message: Outgoing) -> str:
        now = dt.datetime.now(dt.UTC)
        params = self.params(
            message, nonce=uuid.uuid4().hex, timestamp=now.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        body = urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode()
        status, text = http_request(
            self.endpoint,
            method=self.method,
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        data = _json(text)
        code = str(data.get("Code") or "")
        if status == 200 and code == "OK":
            return str(data.get("BizId") or "")[:100]
        if code:
            retry = status >= 500 or code.startswith(_ALIYUN_RETRY)
            raise SmsError(f"{code}: {data.get('Message', '')}"[:300], retry=retry)
        raise _status_error(status, text)


# ----- 腾讯云短信 (SendSms 2021-01-11, TC3-HMAC-SHA256) -----------------------------------------


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_canonical_request(
    *, method: str, host: str, content_type: str, payload: bytes, query: str = ""
) -> str:
    """Step 1 of TC3-HMAC-SHA256, signing the two headers content-type and host (names and
    values in lower case, as the specification says)."""
    return "\n".join(
        [
            method,
            "/",
            query,
            f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n",
            "content-type;host",
            _sha256_hex(payload),
        ]
    )


def tc3_date(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")


def tc3_string_to_sign(*, timestamp: int, service: str, canonical_request: str) -> str:
    scope = f"{tc3_date(timestamp)}/{service}/tc3_request"
    hashed = _sha256_hex(canonical_request.encode("utf-8"))
    return f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashed}"


def tc3_signature(*, secret_key: str, timestamp: int, service: str, canonical_request: str) -> str:
    """Hex HMAC-SHA256 with the key derived from ``"TC3" + SecretKey`` through the date, the
    service and ``tc3_request``, over the string to sign."""
    secret_date = _hmac256(f"TC3{secret_key}".encode(), tc3_date(timestamp))
    secret_service = _hmac256(secret_date, service)
    secret_signing = _hmac256(secret_service, "tc3_request")
    string_to_sign = tc3_string_to_sign(
        timestamp=timestamp, service=service, canonical_request=canonical_request
    )
    return hmac.new(secret_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def tc3_authorization(
    *, secret_id: str, secret_key: str, timestamp: int, service: str, canonical_request: str
) -> str:
    signature = tc3_signature(
        secret_key=secret_key,
        timestamp=timestamp,
        service=service,
        canonical_request=canonical_request,
    )
    scope = f"{tc3_date(timestamp)}/{service}/tc3_request"
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


_TENCENT_RETRY = ("InternalError", "RequestLimitExceeded", "LimitExceeded.PhoneNumberThirtySecond")


class TencentBackend(BaseBackend):
    """腾讯云 ``SendSms`` (2021-01-11): POSTs JSON to ``KUAIBAN_SMS_TENCENT_ENDPOINT``
    (https://sms.tencentcloudapi.com/) with a TC3-HMAC-SHA256 ``Authorization``. Needs the
    SecretId/SecretKey, the SmsSdkAppId, the approved sign name and each template's numeric
    ``provider_template``; ``TemplateParamSet`` is the template's placeholders in order."""

    content_type = "application/json; charset=utf-8"

    def __init__(self) -> None:
        self.secret_id = _setting("KUAIBAN_SMS_TENCENT_SECRET_ID")
        self.secret_key = _setting("KUAIBAN_SMS_TENCENT_SECRET_KEY")
        self.app_id = _setting("KUAIBAN_SMS_TENCENT_SDK_APP_ID")
        self.sign_name = _setting("KUAIBAN_SMS_TENCENT_SIGN_NAME")
        self.endpoint = str(
            getattr(settings, "KUAIBAN_SMS_TENCENT_ENDPOINT", "")
            or "https://sms.tencentcloudapi.com/"
        )
        self.region = str(getattr(settings, "KUAIBAN_SMS_TENCENT_REGION", "") or "ap-guangzhou")
        self.service = "sms"

    def request(self, message: Outgoing, *, timestamp: int) -> tuple[bytes, dict[str, str]]:
        if not message.provider_template:
            raise SmsError(f"template {message.template!r} has no cloud template id", retry=False)
        payload = {
            "PhoneNumberSet": [f"+86{message.to}"],
            "SmsSdkAppId": self.app_id,
            "SignName": self.sign_name,
            "TemplateId": message.provider_template,
            "TemplateParamSet": message.ordered_params(),
        }
        if message.reference:
            payload["SessionContext"] = message.reference
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        host = urllib.parse.urlsplit(self.endpoint).netloc
        canonical = tc3_canonical_request(
            method="POST", host=host, content_type=self.content_type, payload=body
        )
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                timestamp=timestamp,
                service=self.service,
                canonical_request=canonical,
            ),
            "Content-Type": self.content_type,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": self.region,
        }
        return body, headers

    def send(self, message: Outgoing) -> str:
        body, headers = self.request(message, timestamp=int(dt.datetime.now(dt.UTC).timestamp()))
        status, text = http_request(self.endpoint, method="POST", body=body, headers=headers)
        response = _json(text).get("Response")
        if not isinstance(response, dict):
            raise _status_error(status, text) if status != 200 else SmsError(text[:200])
        error = response.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code") or "")
            raise SmsError(
                f"{code}: {error.get('Message', '')}"[:300], retry=code.startswith(_TENCENT_RETRY)
            )
        results = response.get("SendStatusSet") or [{}]
        first = results[0] if isinstance(results[0], dict) else {}
        code = str(first.get("Code") or "")
        if code != "Ok":
            raise SmsError(
                f"{code}: {first.get('Message', '')}"[:300], retry=code.startswith(_TENCENT_RETRY)
            )
        return str(first.get("SerialNo") or "")[:100]
