const crypto = require("node:crypto");

const TOLERANCE_SECONDS = 5 * 60;

// True when Prikke signed this request with `secret` (whsec_...).
// `headers` has lower-case names (as in Node's req.headers);
// `body` is the raw body (Buffer or string), before JSON parsing.
function verify(secret, headers, body, now = Date.now() / 1000) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"] ?? "";
  if (!id || !/^\d+$/.test(timestamp) || Math.abs(now - Number(timestamp)) > TOLERANCE_SECONDS) {
    return false; // missing, too old or from the future: possibly a replay
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = crypto.createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
  // During a secret rotation the header carries several: "v1,abc= v1,def="
  return (headers["webhook-signature"] ?? "").split(" ").some((candidate) => {
    const [version, signature = ""] = candidate.split(",");
    const given = Buffer.from(signature, "base64");
    return version === "v1" && given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

module.exports = { verify };
