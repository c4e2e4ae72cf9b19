//! The benchmarks' web client: one request over a kept-alive HTTP/1.1 connection, with the
//! session cookie and an optional form (shared by `bench_app` and `bench_dashboard`).

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
