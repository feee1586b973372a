"""The front door's tests read the SMS outbox as the notify tests do."""

from kuaiban.notify.tests.conftest import Outbox, _fresh_throttles, outbox

__all__ = ["Outbox", "_fresh_throttles", "outbox"]
