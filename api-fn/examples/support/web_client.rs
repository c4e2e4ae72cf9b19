//! The web benchmarks' shared parts (`bench_app`, `bench_dashboard`): one request over a
//! kept-alive HTTP/1.1 connection with the session cookie and an optional form, percentiles, and
//! the gzipped size of a page.

use std::io::Write;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;

/// One request; returns the status, the `Set-Cookie` values and the body.
pub async fn send(s: &mut SendRequest<Full<Bytes>>, host: &str, method: &str, path: &str, cookie: &str, form: Option<String>) -> (u16, Vec<String>, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path).header("host", host).header("user-agent", "bench");
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    let body = match form {
        Some(f) => {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            Full::new(Bytes::from(f))
        }
        None => Full::new(Bytes::new()),
    };
    s.ready().await.expect("connection ready");
    let res = s.send_request(req.body(body).unwrap()).await.expect("a response");
    let status = res.status().as_u16();
    let cookies = res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(|v| v.split(';').next().unwrap().to_owned()).collect();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, cookies, body)
}

/// p50, p99 and the maximum of `ms`.
pub fn percentiles(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99), *ms.last().unwrap())
}

/// What `bytes` weigh gzipped (what the wire carries).
pub fn gzip_len(bytes: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}
