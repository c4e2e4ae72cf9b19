import base64, hashlib, hmac, time

TOLERANCE_SECONDS = 5 * 60

def verify(secret: str, headers: dict, body: bytes, now: float | None = None) -> bool:
    """True when Prikke signed this request with `secret` (whsec_...).
    `headers` has lower-case names; `body` is the raw body, before JSON parsing."""
    msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    now = time.time() if now is None else now
    if not msg_id or not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False  # missing, too old or from the future: possibly a replay
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # During a secret rotation the header carries several: "v1,abc= v1,def="
    for candidate in headers.get("webhook-signature", "").split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False
