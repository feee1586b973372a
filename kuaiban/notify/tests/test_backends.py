"""The SMS backends: the signing functions against the cloud services' own published examples,
and each adapter against a local fake server (http.server on 127.0.0.1) that checks the request
the way the service does, with its own independent computation of the signature."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kuaiban.core import clock
from kuaiban.notify import backends, sms
from kuaiban.notify.backends import (
    AliyunBackend,
    HttpBackend,
    Outgoing,
    SmsError,
    TencentBackend,
    aliyun_signature,
    aliyun_string_to_sign,
    tc3_canonical_request,
    tc3_signature,
    tc3_string_to_sign,
)
from kuaiban.notify.models import SmsMessage, SmsTemplate

PHONE = "13812345678"
RECEIPT = Outgoing(
    to=PHONE,
    text="您反映的诉求已受理，受理编号KB20261123-000123，查询码ABCDE-23456。",
    template="receipt",
    params={"number": "KB20261123-000123", "access_code": "ABCDE-23456"},
    provider_template="SMS_462150001",
    provider_params=("number", "access_code"),
    reference="kb-sms-7",
)


# ----- the published examples ----------------------------------------------------------------


# 阿里云短信服务, "HTTP 协议及签名" (help.aliyun.com/document_detail/56189): the SendSms example
# with AccessKeyId testId and AccessKeySecret testSecret, its string to sign and its signature.
ALIYUN_DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
ALIYUN_DOC_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
    "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
    "%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF"
    "%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce"
    "%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode"
    "%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D"
    "%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)


def test_aliyun_signature_reproduces_the_sms_documentation_example() -> None:
    assert aliyun_string_to_sign(ALIYUN_DOC_PARAMS) == ALIYUN_DOC_STRING_TO_SIGN
    assert aliyun_signature(ALIYUN_DOC_PARAMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_signature_reproduces_the_rpc_documentation_example() -> None:
    # The RPC signature page's DescribeRegions example (AccessKeySecret testsecret).
    params = {
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Version": "2014-05-26",
        "Timestamp": "2016-02-23T12:46:24Z",
    }
    assert aliyun_signature(params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    # The Signature parameter itself never takes part.
    assert aliyun_signature({**params, "Signature": "x"}, "testsecret") == (
        "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    )


def test_tc3_reproduces_the_signature_v3_documentation_example() -> None:
    # 腾讯云 API 3.0 "签名方法 v3": the CVM DescribeInstances example, timestamp 1551113065.
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    canonical = tc3_canonical_request(
        method="POST",
        host="cvm.tencentcloudapi.com",
        content_type="application/json; charset=utf-8",
        payload=payload,
    )
    assert canonical == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
        "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert tc3_string_to_sign(timestamp=1551113065, service="cvm", canonical_request=canonical) == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    signature = tc3_signature(
        secret_key="Gu5t9xGARNpq86cd98joQYCN3*******",
        timestamp=1551113065,
        service="cvm",
        canonical_request=canonical,
    )
    assert signature == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"


# ----- a fake gateway --------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Gateway:
    """A local HTTP server; ``answer(request) -> (status, body)`` decides each response."""

    answer: Callable[[Request], tuple[int, Any]] = lambda r: (200, {"id": "gw-1"})
    received: list[Request] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = Request(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            state.received.append(request)
            status, answer = state.answer(request)
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PUT = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# ----- the generic HTTP gateway ----------------------------------------------------------------


@pytest.fixture
def http_settings(settings: Any, gateway: Gateway) -> Any:
    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notify.backends.HttpBackend"
    settings.KUAIBAN_SMS_HTTP_URL = gateway.url + "sms/send"
    settings.KUAIBAN_SMS_HTTP_AUTH_HEADER = "Authorization: Bearer gw-secret-token"
    settings.KUAIBAN_SMS_QUIET_HOURS = ""
    return settings


def test_http_backend_posts_json_with_the_auth_header(http_settings: Any, gateway: Gateway) -> None:
    assert HttpBackend().send(RECEIPT) == "gw-1"
    [request] = gateway.received
    assert request.method == "POST" and request.path == "/sms/send"
    assert request.headers["authorization"] == "Bearer gw-secret-token"
    body = json.loads(request.body)
    assert body == {
        "to": PHONE,
        "text": RECEIPT.text,
        "template": "receipt",
        "params": {"number": "KB20261123-000123", "access_code": "ABCDE-23456"},
        "reference": "kb-sms-7",
    }


def test_http_backend_method_is_a_setting(http_settings: Any, gateway: Gateway) -> None:
    http_settings.KUAIBAN_SMS_HTTP_METHOD = "put"
    HttpBackend().send(RECEIPT)
    assert gateway.received[0].method == "PUT"


@pytest.mark.parametrize(("status", "retry"), [(500, True), (503, True), (429, True), (400, False)])
def test_http_backend_failures_say_whether_to_retry(
    http_settings: Any, gateway: Gateway, status: int, retry: bool
) -> None:
    gateway.answer = lambda r: (status, {"error": "网关错误"})
    with pytest.raises(SmsError) as caught:
        HttpBackend().send(RECEIPT)
    assert caught.value.retry is retry and str(status) in str(caught.value)


def test_an_unreachable_gateway_is_retried(settings: Any) -> None:
    settings.KUAIBAN_SMS_HTTP_URL = "http://127.0.0.1:9/closed"  # discard port: nobody listens
    with pytest.raises(SmsError) as caught:
        HttpBackend().send(RECEIPT)
    assert caught.value.retry


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_gateway_500_is_retried_with_backoff_until_it_answers(
    http_settings: Any, gateway: Gateway
) -> None:
    answers = iter([(500, {"error": "internal"}), (500, {"error": "internal"})])
    gateway.answer = lambda r: next(answers, (200, {"id": "gw-42"}))
    start = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    with clock.frozen(start):
        message = sms.send_sms(PHONE, "closed", {"number": "KB20261123-000123"})
    message.refresh_from_db()
    assert (message.status, message.attempts) == (SmsMessage.Status.QUEUED, 1)
    assert message.last_error.startswith("HTTP 500")
    with clock.frozen(start + dt.timedelta(seconds=30)):
        assert sms.messages_run() == 1
    message.refresh_from_db()
    assert message.next_attempt_at == start + dt.timedelta(seconds=90)
    with clock.frozen(start + dt.timedelta(seconds=90)):
        assert sms.messages_run() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == ("sent", 3, "gw-42")
    assert len(gateway.received) == 3
    assert {json.loads(r.body)["text"] for r in gateway.received} == {
        "您的诉求KB20261123-000123已办结，感谢您的理解与支持。"
    }


# ----- 阿里云 ------------------------------------------------------------------------------------

ALIYUN_ID, ALIYUN_SECRET = "LTAI5tKuaibanTest", "kb-aliyun-secret/含中文+符号"


def aliyun_verify(request: Request) -> tuple[bool, dict[str, str]]:
    """What Dysmsapi does with a POSTed form: rebuild the string to sign from the parameters it
    received (sorted, RFC 3986 encoded) and compare HMAC-SHA1 under ``secret&``."""
    pairs = urllib.parse.parse_qsl(request.body.decode(), keep_blank_values=True)
    params = dict(pairs)
    given = params.pop("Signature", "")

    def enc(value: str) -> str:
        return urllib.parse.quote(value, safe="-_.~")

    query = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params))
    to_sign = f"{request.method}&{enc('/')}&{enc(query)}"
    expected = base64.b64encode(
        hmac.new(f"{ALIYUN_SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()
    return hmac.compare_digest(given, expected), params


@pytest.fixture
def aliyun(settings: Any, gateway: Gateway) -> Gateway:
    settings.KUAIBAN_SMS_ALIYUN_ACCESS_KEY_ID = ALIYUN_ID
    settings.KUAIBAN_SMS_ALIYUN_ACCESS_KEY_SECRET = ALIYUN_SECRET
    settings.KUAIBAN_SMS_ALIYUN_SIGN_NAME = "某某县12345"
    settings.KUAIBAN_SMS_ALIYUN_ENDPOINT = gateway.url

    def answer(request: Request) -> tuple[int, Any]:
        ok, params = aliyun_verify(request)
        if not ok:
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature..."}
        if params.get("AccessKeyId") != ALIYUN_ID:
            return 400, {"Code": "InvalidAccessKeyId.NotFound", "Message": "not found"}
        return 200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}

    gateway.answer = answer
    return gateway


def test_aliyun_sends_a_request_the_service_accepts(aliyun: Gateway) -> None:
    assert AliyunBackend().send(RECEIPT) == "900619746936498440^0"
    [request] = aliyun.received
    ok, params = aliyun_verify(request)
    assert ok
    assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25"
    assert params["PhoneNumbers"] == PHONE and params["SignName"] == "某某县12345"
    assert params["TemplateCode"] == "SMS_462150001" and params["OutId"] == "kb-sms-7"
    assert json.loads(params["TemplateParam"]) == {
        "number": "KB20261123-000123",
        "access_code": "ABCDE-23456",
    }
    stamp = dt.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 60


def test_aliyun_with_a_wrong_secret_is_refused_by_the_fake_service(
    aliyun: Gateway, settings: Any
) -> None:
    settings.KUAIBAN_SMS_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"
    with pytest.raises(SmsError) as caught:
        AliyunBackend().send(RECEIPT)
    assert "SignatureDoesNotMatch" in str(caught.value) and not caught.value.retry


@pytest.mark.parametrize(
    ("code", "retry"),
    [("isv.BUSINESS_LIMIT_CONTROL", True), ("isv.MOBILE_NUMBER_ILLEGAL", False)],
)
def test_aliyun_refusals_say_whether_to_retry(aliyun: Gateway, code: str, retry: bool) -> None:
    aliyun.answer = lambda r: (200, {"Code": code, "Message": "触发流控"})
    with pytest.raises(SmsError) as caught:
        AliyunBackend().send(RECEIPT)
    assert caught.value.retry is retry and code in str(caught.value)


def test_aliyun_needs_the_approved_template_id(aliyun: Gateway) -> None:
    with pytest.raises(SmsError) as caught:
        AliyunBackend().send(Outgoing(to=PHONE, text="x", template="closed"))
    assert not caught.value.retry and aliyun.received == []


# ----- 腾讯云 ------------------------------------------------------------------------------------

TENCENT_ID, TENCENT_KEY = "AKIDkuaibanTest0001", "kb-tencent-secret-key"


def tencent_verify(request: Request) -> bool:
    """What the TencentCloud API gateway does: rebuild the canonical request from the signed
    headers it received and the body, derive the signing key from the date and the service, and
    compare the signature in Authorization; the timestamp must be recent."""
    auth = request.headers.get("authorization", "")
    algorithm, _, rest = auth.partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    secret_id, date, service, terminator = fields["Credential"].split("/")
    timestamp = int(request.headers["x-tc-timestamp"])
    if abs(dt.datetime.now(dt.UTC).timestamp() - timestamp) > 300:
        return False
    if dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d") != date:
        return False
    signed = fields["SignedHeaders"].split(";")
    canonical_headers = "".join(f"{h}:{request.headers[h].strip().lower()}\n" for h in signed)
    canonical = "\n".join(
        [
            request.method,
            "/",
            "",
            canonical_headers,
            fields["SignedHeaders"],
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/{terminator}"
    to_sign = "\n".join(
        [algorithm, str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(f"TC3{TENCENT_KEY}".encode(), date), service), "tc3_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        algorithm == "TC3-HMAC-SHA256"
        and secret_id == TENCENT_ID
        and service == "sms"
        and hmac.compare_digest(fields["Signature"], expected)
    )


@pytest.fixture
def tencent(settings: Any, gateway: Gateway) -> Gateway:
    settings.KUAIBAN_SMS_TENCENT_SECRET_ID = TENCENT_ID
    settings.KUAIBAN_SMS_TENCENT_SECRET_KEY = TENCENT_KEY
    settings.KUAIBAN_SMS_TENCENT_SDK_APP_ID = "1400787878"
    settings.KUAIBAN_SMS_TENCENT_SIGN_NAME = "某某县12345"
    settings.KUAIBAN_SMS_TENCENT_ENDPOINT = gateway.url

    def answer(request: Request) -> tuple[int, Any]:
        if not tencent_verify(request):
            error = {"Code": "AuthFailure.SignatureFailure", "Message": "signature mismatch"}
            return 200, {"Response": {"Error": error, "RequestId": "r-1"}}
        payload = json.loads(request.body)
        status = {
            "SerialNo": "5000:1045710669157053657849499619",
            "PhoneNumber": payload["PhoneNumberSet"][0],
            "Code": "Ok",
            "Message": "send success",
        }
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": "r-2"}}

    gateway.answer = answer
    return gateway


def test_tencent_sends_a_request_the_service_accepts(tencent: Gateway) -> None:
    assert TencentBackend().send(RECEIPT) == "5000:1045710669157053657849499619"
    [request] = tencent.received
    assert tencent_verify(request)
    headers = request.headers
    assert headers["x-tc-action"] == "SendSms" and headers["x-tc-version"] == "2021-01-11"
    assert headers["x-tc-region"] == "ap-guangzhou"
    assert json.loads(request.body) == {
        "PhoneNumberSet": ["+8613812345678"],
        "SmsSdkAppId": "1400787878",
        "SignName": "某某县12345",
        "TemplateId": "SMS_462150001",
        "TemplateParamSet": ["KB20261123-000123", "ABCDE-23456"],
        "SessionContext": "kb-sms-7",
    }


def test_tencent_with_a_wrong_key_is_refused_by_the_fake_service(
    tencent: Gateway, settings: Any
) -> None:
    settings.KUAIBAN_SMS_TENCENT_SECRET_KEY = "not-the-key"
    with pytest.raises(SmsError) as caught:
        TencentBackend().send(RECEIPT)
    assert "AuthFailure.SignatureFailure" in str(caught.value) and not caught.value.retry


def test_tencent_a_refused_number_is_not_retried(tencent: Gateway) -> None:
    status = {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "bad number"}
    tencent.answer = lambda r: (200, {"Response": {"SendStatusSet": [status]}})
    with pytest.raises(SmsError) as caught:
        TencentBackend().send(RECEIPT)
    assert not caught.value.retry


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_tencent_through_send_sms_uses_the_template_cloud_id_and_its_order(
    tencent: Gateway, settings: Any
) -> None:
    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notify.backends.TencentBackend"
    settings.KUAIBAN_SMS_QUIET_HOURS = ""
    SmsTemplate.objects.filter(code="dispatched").update(provider_template="1987654")
    message = sms.send_sms(PHONE, "dispatched", {"number": "KB20261123-000123", "unit": "县住建局"})
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.SENT
    body = json.loads(tencent.received[0].body)
    assert body["TemplateId"] == "1987654"
    assert body["TemplateParamSet"] == ["KB20261123-000123", "县住建局"]  # as in the text
    SmsTemplate.objects.filter(code="dispatched").update(provider_params="unit, number")
    sms.send_sms(PHONE, "dispatched", {"number": "KB2", "unit": "县城管局"})
    assert json.loads(tencent.received[1].body)["TemplateParamSet"] == ["县城管局", "KB2"]


def test_the_backend_is_chosen_by_dotted_path(settings: Any) -> None:
    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notify.backends.FileBackend"
    assert isinstance(backends.get_backend(), backends.FileBackend)
